"""Sealed binary files: the frame every counter, sketch and partial-result file shares, and a
bounds-checked reader that turns anything malformed into one ``FormatError``.

These files travel between processes and machines and may come from a stranger, so reading one
never trusts it: every length is checked against the bytes that are there (nothing is allocated
from a length field), every field's type and range is checked, and a CRC-32 over the whole file
catches corruption before any of it is interpreted.

Frame (all integers little-endian)::

    offset  size  field
    0       8     magic (names the format: b"HAPART\\x00\\x00", b"HASKTCH\\x00", b"HAEXACT\\x00")
    8       2     format version (uint16)
    10      n     the format's own fields (documented with each format)
    10+n    4     CRC-32 (uint32) of bytes 0 .. 10+n-1: zlib's CRC-32, the IEEE 802.3 / gzip / PNG
                  polynomial, initial value 0

CRC-32 rather than a newer hash: it ships with Python (``zlib.crc32``), it detects every single
and double bit error and every burst of up to 32 bits in files of this size (a check, not a
signature: a stranger can recompute it, which is why every field is validated as well), and it
runs at memory speed. The version is read before the checksum, so a file of an older version gets
a message that says so rather than "bad checksum".
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from typing import Any, NoReturn

import orjson

from audit.errors import FormatError

U64_MAX = (1 << 64) - 1
_CRC = struct.Struct("<I")


def seal(magic: bytes, version: int, *parts: bytes) -> bytes:
    """``magic``, ``version`` (uint16), the parts, then the CRC-32 of all of it."""
    body = b"".join([magic, struct.pack("<H", version), *parts])
    return body + _CRC.pack(zlib.crc32(body))


class Reader:
    """Reads the fields of one sealed file in order; any problem is a ``FormatError`` naming the
    file and what kind of file it was meant to be ("corrupt partial result (...)")."""

    def __init__(self, data: bytes | memoryview, what: str, source: str, off: int = 0) -> None:
        self.data = memoryview(data)
        self.what = what
        self.source = source
        self.off = off

    def fail(self, problem: str) -> NoReturn:
        raise FormatError(f"corrupt {self.what} ({problem})", path=self.source)

    def take(self, n: int, field: str) -> memoryview:
        if n > len(self.data) - self.off:
            self.fail(f"truncated: {field} needs {n:,} bytes, {len(self.data) - self.off:,} left")
        out = self.data[self.off : self.off + n]
        self.off += n
        return out

    def unpack(self, fmt: str, field: str) -> tuple[Any, ...]:
        st = struct.Struct("<" + fmt)
        return st.unpack(self.take(st.size, field))

    def u8(self, field: str) -> int:
        return int(self.unpack("B", field)[0])

    def u32(self, field: str) -> int:
        return int(self.unpack("I", field)[0])

    def u64(self, field: str) -> int:
        return int(self.unpack("Q", field)[0])

    def blob(self, field: str) -> memoryview:
        """A uint64 length, then that many bytes."""
        return self.take(self.u64(f"length of {field}"), field)

    def text(self, field: str) -> str:
        """A uint32 length, then that many bytes of UTF-8."""
        raw = self.take(self.u32(f"length of {field}"), field)
        try:
            return bytes(raw).decode()
        except UnicodeDecodeError:
            self.fail(f"{field} is not UTF-8")

    def json(self, raw: memoryview | bytes, field: str) -> Any:
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            self.fail(f"{field} is not JSON: {exc.msg}")

    def end(self) -> None:
        if self.off != len(self.data):
            self.fail(f"{len(self.data) - self.off:,} unexpected bytes after the last field")

    # -- typed values from a JSON document ----------------------------------------------------
    def int_(self, v: Any, field: str, lo: int = 0, hi: int = U64_MAX) -> int:
        if isinstance(v, bool) or not isinstance(v, int):
            self.fail(f"{field} must be an integer, got {type(v).__name__}")
        if not lo <= v <= hi:
            self.fail(f"{field} must be in [{lo:,}, {hi:,}], got {v:,}")
        return v

    def str_(self, v: Any, field: str) -> str:
        if not isinstance(v, str):
            self.fail(f"{field} must be a string, got {type(v).__name__}")
        return v

    def list_(self, v: Any, field: str, n: int | None = None) -> list[Any]:
        if not isinstance(v, list):
            self.fail(f"{field} must be a list, got {type(v).__name__}")
        if n is not None and len(v) != n:
            self.fail(f"{field} must have {n} items, got {len(v)}")
        return v

    def dict_(self, v: Any, field: str, keys: set[str] | None = None) -> dict[str, Any]:
        if not isinstance(v, dict):
            self.fail(f"{field} must be an object, got {type(v).__name__}")
        if keys is not None and set(v) != keys:
            extra, missing = sorted(set(v) - keys), sorted(keys - set(v))
            self.fail(f"{field} has keys {extra} it should not have" if extra else f"{field} lacks {missing}")
        return v

    def optional(self, v: Any, check: Callable[[Any, str], Any], field: str) -> Any:
        return None if v is None else check(v, field)

    def sorted_unique(self, keys: list[str], field: str) -> None:
        """Writers sort these lists; a duplicate would silently overwrite an earlier entry."""
        for a, b in zip(keys, keys[1:], strict=False):
            if not a < b:
                self.fail(f"{field} not sorted or repeated at {b!r}")


def open_sealed(data: bytes | memoryview, magic: bytes, version: int, what: str, source: str,
                rewrite: str) -> Reader:  # fmt: skip
    """Check magic, version and checksum; return a ``Reader`` at the first field after the
    version, over the bytes before the checksum. ``rewrite`` says how to make a current file
    (named in the message for a file of another version)."""
    view = memoryview(data)
    if bytes(view[:8]) != magic:
        raise FormatError(f"not a {what} (bad magic)", path=source)
    if len(view) < 8 + 2 + _CRC.size:
        raise FormatError(f"corrupt {what} (truncated: {len(view)} bytes)", path=source)
    (found,) = struct.unpack_from("<H", view, 8)
    if found != version:
        newer = "a newer" if found > version else "an older"
        raise FormatError(
            f"{what} in format version {found}, written by {newer} hallu-audit; this version reads "
            f"format {version} only ({rewrite})",
            path=source,
        )
    body = view[: len(view) - _CRC.size]
    (stored,) = _CRC.unpack(view[len(view) - _CRC.size :])
    if zlib.crc32(body) != stored:
        raise FormatError(f"corrupt {what} (checksum mismatch: the file was damaged or edited)", path=source)
    return Reader(body, what, source, off=10)
