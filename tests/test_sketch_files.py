"""Partial-result (``--sketch-out``) files as a stranger may send them: the documented layout and
its checksum, bit flips, crafted fields, old versions, overlapping merges, and random bytes.

The files are taken apart and put together here from the layout the README documents (with
zlib's CRC-32 computed here), not with the library's writer, so these tests also check that the
documentation is right.
"""

from __future__ import annotations

import random
import struct
import zlib
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audit.errors import ExitCode, FormatError
from audit.parallel import PartialFile

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "fixtures" / "corpus" / "sample.jsonl"
REFS = ROOT / "fixtures" / "refs" / "capitals.jsonl"


# -- the documented layout, independently ------------------------------------------------------
def split_partial(data: bytes) -> dict:
    """Fields of a partial-result file, read by the README's offsets."""
    assert data[:8] == b"HAPART\x00\x00"
    (version, n) = struct.unpack_from("<HI", data, 8)
    off = 14 + n
    out = {"version": version, "cid": data[14:off].decode()}
    for name in ("header", "counter", "distinct"):
        (m,) = struct.unpack_from("<Q", data, off)
        out[name] = data[off + 8 : off + 8 + m]
        off += 8 + m
    assert off == len(data) - 4
    assert struct.unpack("<I", data[-4:])[0] == zlib.crc32(data[:-4])
    out["header"] = orjson.loads(out["header"])
    return out


def build_partial(f: dict, version: int = 3, checksum: bool = True) -> bytes:
    cid = f["cid"].encode()
    header = f["header"] if isinstance(f["header"], bytes) else orjson.dumps(f["header"])
    body = b"HAPART\x00\x00" + struct.pack("<HI", version, len(cid)) + cid
    for part in (header, f["counter"], f["distinct"]):
        body += struct.pack("<Q", len(part)) + part
    return body + (struct.pack("<I", zlib.crc32(body)) if checksum else b"")


def split_sample(data: bytes) -> dict:
    """Fields of a SampleCounter (``HASKTCH``) by its documented offsets."""
    assert data[:8] == b"HASKTCH\x00" and struct.unpack_from("<H", data, 8) == (2,)
    (n,) = struct.unpack_from("<I", data, 10)
    off = 14 + n
    k, seed, sampling, thr, total, p = struct.unpack_from("<QQBQQB", data, off)
    off += 34
    regs = data[off : off + (1 << p)]
    off += 1 << p
    (m,) = struct.unpack_from("<Q", data, off)
    body = orjson.loads(data[off + 8 : off + 8 + m])
    assert off + 8 + m == len(data) - 4 and struct.unpack("<I", data[-4:])[0] == zlib.crc32(data[:-4])
    return dict(cid=data[14 : 14 + n].decode(), k=k, seed=seed, sampling=sampling, thr=thr, n=total,
                p=p, regs=regs, body=body)  # fmt: skip


def build_sample(f: dict) -> bytes:
    cid = f["cid"].encode()
    body = f["body"] if isinstance(f["body"], bytes) else orjson.dumps(f["body"])
    out = b"HASKTCH\x00" + struct.pack("<HI", 2, len(cid)) + cid
    out += struct.pack("<QQBQQB", f["k"], f["seed"], f["sampling"], f["thr"], f["n"], f["p"]) + f["regs"]
    out += struct.pack("<Q", len(body)) + body
    return out + struct.pack("<I", zlib.crc32(out))


def split_exact(data: bytes) -> dict:
    assert data[:8] == b"HAEXACT\x00" and struct.unpack_from("<H", data, 8) == (2,)
    (n,) = struct.unpack_from("<I", data, 10)
    (m,) = struct.unpack_from("<Q", data, 14 + n)
    assert 22 + n + m == len(data) - 4 and struct.unpack("<I", data[-4:])[0] == zlib.crc32(data[:-4])
    return {"cid": data[14 : 14 + n].decode(), "rows": orjson.loads(data[22 + n : 22 + n + m])}


def build_exact(f: dict) -> bytes:
    cid = f["cid"].encode()
    rows = f["rows"] if isinstance(f["rows"], bytes) else orjson.dumps(f["rows"])
    out = b"HAEXACT\x00" + struct.pack("<HI", 2, len(cid)) + cid + struct.pack("<Q", len(rows)) + rows
    return out + struct.pack("<I", zlib.crc32(out))


# -- fixtures ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """A small corpus (30 lines) and its partials: exact, sampled (k = 4), and with --dedup."""
    from typer.testing import CliRunner

    from audit.cli import app

    d = tmp_path_factory.mktemp("parts")
    lines = SAMPLE.read_bytes().splitlines(keepends=True)
    (d / "small.jsonl").write_bytes(b"".join(lines[:30]))
    (d / "other.jsonl").write_bytes(b"".join(lines[30:60]))
    runner = CliRunner()
    out = {"small": d / "small.jsonl", "other": d / "other.jsonl", "dir": d}
    for name, src, extra in [
        ("exact", "small", []),
        ("sample", "small", ["--max-facts", "4"]),
        ("dedup", "small", ["--dedup", "exact"]),
        ("exact2", "other", []),
    ]:
        out[name] = d / f"{name}.sketch"
        r = runner.invoke(app, ["corpus", str(out[src]), "-f", str(REFS), "-q", "-o", str(d / f"{name}.json"),
                                "--sketch-out", str(out[name]), *extra])  # fmt: skip
        assert r.exit_code == 0, r.output
    return out


def one_line_error(r, *needles: str, code: int = ExitCode.BAD_INPUT) -> None:
    assert r.exit_code == code, (r.exit_code, r.stderr)
    assert r.stderr.startswith("hallu-audit: error: ") and r.stderr.count("\n") == 1, r.stderr
    assert "Traceback" not in r.stderr and not r.stdout
    for n in needles:
        assert n in r.stderr, (n, r.stderr)


# -- layout and checksum -----------------------------------------------------------------------
def test_layout_is_the_documented_one(files) -> None:
    for name in ("exact", "sample", "dedup"):
        f = split_partial(files[name].read_bytes())
        assert f["version"] == 3 and f["cid"] == f["header"]["config"]["id"]
        assert build_partial(f) == files[name].read_bytes()
        if name == "sample":
            sk = split_sample(f["counter"])
            assert sk["sampling"] == 1 and 0 < sk["thr"] < 2**64 and sk["k"] == 4 and len(sk["body"]["facts"]) == 4
            assert sk["n"] == sum(c for _, c in sk["body"]["relations"]) == 15  # N of the 30 lines
            assert build_sample(sk) == f["counter"]
        else:
            ex = split_exact(f["counter"])
            assert sum(c for _, _, c in ex["rows"]) == 15 and len(ex["rows"]) == 248  # every fact of the table
        assert (f["distinct"] != b"") == (name == "dedup")
        assert f["header"]["inputs"][0][1] == str(files["small"])


@pytest.mark.parametrize("name", ["exact", "sample"])
def test_every_single_bit_flip_is_refused(files, name) -> None:
    data = bytearray(files[name].read_bytes())
    accepted = []
    for i in range(len(data) * 8):
        data[i // 8] ^= 1 << (i % 8)
        try:
            PartialFile.from_bytes(bytes(data))
            accepted.append(i)
        except FormatError:
            pass
        data[i // 8] ^= 1 << (i % 8)
    assert accepted == []
    assert PartialFile.from_bytes(bytes(data)).to_bytes() == bytes(data)


def test_bit_flips_through_merge_are_one_line_exit_3(cli, files, tmp_path) -> None:
    data = files["exact"].read_bytes()
    rng = random.Random(9)
    for k in range(80):
        i = rng.randrange(len(data) * 8)
        bad = bytearray(data)
        bad[i // 8] ^= 1 << (i % 8)
        p = tmp_path / f"flip{k}.sketch"
        p.write_bytes(bytes(bad))
        one_line_error(cli("merge", p, "--json"), str(p))


def test_old_version_is_refused_by_name(cli, files, tmp_path) -> None:
    v1 = build_partial(split_partial(files["exact"].read_bytes()), version=1, checksum=False)
    p = tmp_path / "v1.sketch"
    p.write_bytes(v1)
    one_line_error(cli("merge", p), str(p), "format version 1", "older", "--sketch-out")
    v2 = build_partial(split_partial(files["exact"].read_bytes()), version=2)
    p = tmp_path / "v2.sketch"
    p.write_bytes(v2)
    one_line_error(cli("merge", p), str(p), "format version 2", "older", "--sketch-out")


# -- crafted fields (the checksum is right, the content is not) --------------------------------
def _header(key, value):
    def edit(f):
        f["header"][key] = value

    return edit


def _counter_rows(fn):
    def edit(f):
        ex = split_exact(f["counter"])
        fn(ex)
        f["counter"] = build_exact(ex)

    return edit


def _sketch(fn):
    def edit(f):
        sk = split_sample(f["counter"])
        fn(sk)
        f["counter"] = build_sample(sk)

    return edit


CRAFTED = [
    ("exact", _header("bad", ["not", "an", "object"]), "bad must be an object"),
    ("exact", _header("documents", -3), "documents must be in"),
    ("exact", _header("documents", "30"), "documents must be an integer"),
    ("exact", _header("bytes", 1.5), "bytes must be an integer"),
    ("exact", _header("bad", {"invalid_json": [0, []]}), "count must be in"),
    ("exact", _header("bad", {"invalid_json": [2]}), "must have 2 items"),
    ("exact", _header("duplicates", 31), "duplicates must be in"),
    ("exact", _header("objects", []), "objects must be an object"),
    ("exact", _header("objects", {"capital/x": [["paris", 1, "a.jsonl:1"]]}), "objects in a reference-table run"),
    ("exact", _header("objects", {"capital/x": ["paris"]}), "object of 'capital/x' must be a list"),
    ("exact", _header("objects", {"capital/x": [["paris", 0, "a.jsonl:1"]]}), "mentions of an object of 'capital/x'"),
    ("exact", _header("objects", {"capital/x": [["paris", 1, 7]]}), "location of 'capital/x'"),
    ("exact", _header("reference_facts", {"capital": -1}), "reference_facts 'capital'"),
    ("exact", _header("reference_objects", [1, 2]), "reference_objects must be an object"),
    ("exact", _header("config", [1]), "config must be an object"),
    ("exact", _header("sources", {"a": 1}), "sources must be a list"),
    ("exact", _header("inputs", [["x"]]), "input 0 must have 2 items"),
    ("exact", _header("inputs", [["x", "small.jsonl"]]), "is not an input id"),
    ("exact", _header("inputs", []), "0 input ids for 1 sources"),
    ("exact", _header("bad", {"invalid_json": [1, ["a:1", "a:2"]]}), "more examples than records"),
    ("exact", _header("tokens", -1), "tokens must be in"),
    ("exact", _header("extra", 1), "keys ['extra']"),
    ("exact", lambda f: f["header"].pop("inputs"), "lacks ['inputs']"),
    ("exact", lambda f: f["header"]["config"].update(scope="doc"), "does not match its id"),
    ("exact", lambda f: f["header"]["config"].update(minhash={"a": 1}), "config minhash must be a list"),
    ("exact", lambda f: f.update(cid="cfg-0000000000000000"), "config id of the header and of the file differ"),
    ("exact", lambda f: f.update(distinct=f["counter"]), "distinct-source counter without --dedup"),
    ("exact", lambda f: f.update(header=b"[1, 2]"), "header must be an object"),
    ("exact", lambda f: f.update(header=b"{nope"), "header is not JSON"),
    ("exact", _counter_rows(lambda ex: ex["rows"][0].__setitem__(2, -1)), "fact 0 count must be in"),
    ("exact", _counter_rows(lambda ex: ex["rows"][0].__setitem__(0, 7)), "fact 0 id must be a string"),
    ("exact", _counter_rows(lambda ex: ex.update(rows={"a": 1})), "body must be a list"),
    ("exact", _counter_rows(lambda ex: ex["rows"].append(ex["rows"][0])), "not sorted or repeated"),
    ("exact", _counter_rows(lambda ex: ex.update(cid="cfg-other")), "made under config"),
    ("sample", _sketch(lambda sk: sk.update(thr=0)), "sampling threshold 0"),
    ("sample", _sketch(lambda sk: sk.update(sampling=2)), "sampling flag 2"),
    ("sample", _sketch(lambda sk: sk.update(k=0)), "capacity 0"),
    ("sample", _sketch(lambda sk: sk.update(k=3)), "capacity 3"),
    ("sample", _sketch(lambda sk: sk.update(seed=5)), "hashes above the threshold"),
    ("sample", _sketch(lambda sk: sk.update(p=12)), "precision 12"),
    ("sample", _sketch(lambda sk: sk.update(regs=b"\x7f" * len(sk["regs"]))), "register out of range"),
    ("sample", _sketch(lambda sk: sk["body"].update(relations={"capital": 15})), "relations must be a list"),
    ("sample", _sketch(lambda sk: sk["body"].update(relations=[{"capital": 15}])), "relation 0 must be a list"),
    ("sample", _sketch(lambda sk: sk["body"]["relations"][0].__setitem__(1, 99)), "sum to 99"),
    ("sample", _sketch(lambda sk: sk["body"]["facts"][0].__setitem__(2, 0)), "fact 0 count must be in"),
    ("sample", _sketch(lambda sk: sk["body"]["facts"][0].__setitem__(2, 15)), "its N is 15"),
    ("sample", _sketch(lambda sk: sk["body"]["facts"][0].__setitem__(1, "birth")), "unlisted relation 'birth'"),
    ("sample", _sketch(lambda sk: sk["body"]["facts"][0].__setitem__(0, "capital/zz")), "hashes above the threshold"),
    ("sample", _sketch(lambda sk: sk.update(thr=1)), "hashes above the threshold"),
    ("sample", _sketch(lambda sk: sk.update(body=b"[]")), "body must be an object"),
]


@pytest.mark.parametrize(("name", "edit", "needle"), CRAFTED, ids=[c[2] for c in CRAFTED])
def test_crafted_fields_are_one_line_exit_3(cli, files, tmp_path, name, edit, needle) -> None:
    f = split_partial(files[name].read_bytes())
    edit(f)
    p = tmp_path / "crafted.sketch"
    p.write_bytes(build_partial(f))
    one_line_error(cli("merge", p, "--json"), str(p), needle)


# -- overlapping merges ------------------------------------------------------------------------
def test_merge_refuses_what_was_counted_twice(cli, files, tmp_path) -> None:
    a, b = files["exact"], files["exact2"]
    one_line_error(cli("merge", a, a, "--json"), f"{a}: counts {files['small']} again, already counted in {a}")
    both = tmp_path / "ab.sketch"
    r = cli("merge", a, b, "--sketch-out", both, "-o", tmp_path / "ab.json")
    assert r.exit_code == 0, r.stderr
    one_line_error(cli("merge", both, b, "--json"), str(b), f"already counted in {both}")
    # the same content under another name, counted in another run
    copy = tmp_path / "copy.jsonl"
    copy.write_bytes(files["small"].read_bytes())
    c = tmp_path / "c.sketch"
    assert cli("corpus", copy, "-f", REFS, "-q", "-o", tmp_path / "c.json", "--sketch-out", c).exit_code == 0
    one_line_error(cli("merge", a, c), str(c), f"counts {copy} again, already counted in {a} as {files['small']}")
    # distinct inputs still merge, and the merged file names both
    assert [i[1] for i in split_partial(both.read_bytes())["header"]["inputs"]] == [
        str(files["small"]), str(files["other"])
    ]


def test_stdin_partials_are_identified_by_content(cli, files, tmp_path) -> None:
    parts = []
    for name, src in [("s1", "small"), ("s2", "small"), ("s3", "other")]:
        p = tmp_path / f"{name}.sketch"
        r = cli("corpus", "-", "-f", REFS, "-q", "-o", tmp_path / "x.json", "--sketch-out", p,
                input=files[src].read_bytes())  # fmt: skip
        assert r.exit_code == 0, r.stderr
        parts.append(p)
    one_line_error(cli("merge", parts[0], parts[1]), str(parts[1]), "counts - again")
    r = cli("merge", parts[0], parts[2], "--json", "-q")
    assert r.exit_code == 0 and orjson.loads(r.stdout)["overall"]["N"] == 15 + orjson.loads(
        cli("merge", parts[2], "--json", "-q").stdout
    )["overall"]["N"]


# -- random input ------------------------------------------------------------------------------
def _read(data: bytes) -> None:
    """The reader's only outcomes: a usable result or a FormatError (exit 3)."""
    try:
        part = PartialFile.from_bytes(data, "x.sketch")
    except FormatError as exc:
        assert exc.exit_code == ExitCode.BAD_INPUT and "\n" not in str(exc)
        return
    part.report(0.99).to_json()


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400), st.sampled_from([b"", b"HAPART\x00\x00\x02\x00", b"HAPART\x00\x00\x01\x00"]))
def test_random_bytes_are_refused(data, prefix) -> None:
    _read(prefix + data)


mutation = st.tuples(st.sampled_from(["flip", "set", "insert", "delete", "truncate"]),
                     st.floats(0, 1, exclude_max=True), st.integers(0, 255))  # fmt: skip


def _mutate(data: bytes, muts) -> bytes:
    b = bytearray(data)
    for kind, where, value in muts:
        i = int(where * len(b)) if b else 0
        if kind == "flip" and b:
            b[i] ^= 1 << (value % 8)
        elif kind == "set" and b:
            b[i] = value
        elif kind == "insert":
            b[i:i] = bytes([value]) * (1 + value % 9)
        elif kind == "delete":
            del b[i : i + 1 + value % 9]
        elif kind == "truncate":
            del b[i:]
    return bytes(b)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(["exact", "sample", "dedup"]), st.lists(mutation, min_size=1, max_size=4), st.booleans())
def test_random_mutations_give_a_result_or_exit_3(files, name, muts, reseal) -> None:
    data = files[name].read_bytes()
    if not reseal:
        _read(_mutate(data, muts))
        return
    # past the checksum: mutate the header JSON's text, or a counter, and seal again
    f = split_partial(data)
    target = ["header", "counter"][muts[0][2] % 2]
    raw = orjson.dumps(f["header"]) if target == "header" else f["counter"]
    if target == "counter":
        body = _mutate(raw[:-4], muts)
        f["counter"] = body + struct.pack("<I", zlib.crc32(body))
    else:
        f["header"] = _mutate(raw, muts)
    _read(build_partial(f))


value = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(["exact", "sample", "dedup"]), st.data())
def test_random_json_values_give_a_result_or_exit_3(files, name, data) -> None:
    """Replace one value anywhere in the header or in the sketch body by a random JSON value."""
    f = split_partial(files[name].read_bytes())
    sk = split_sample(f["counter"]) if name == "sample" and data.draw(st.booleans()) else None
    doc = sk["body"] if sk else f["header"]
    node, path = doc, []
    while isinstance(node, (dict, list)) and node and data.draw(st.booleans()):
        key = data.draw(st.sampled_from(sorted(node) if isinstance(node, dict) else range(len(node))))
        path.append((node, key))
        node = node[key]
    new = data.draw(value)
    if path:
        parent, key = path[-1]
        parent[key] = new
    elif sk:
        sk["body"] = new
    else:
        f["header"] = new
    if sk:
        try:
            f["counter"] = build_sample(sk)
        except (OverflowError, TypeError, struct.error, orjson.JSONEncodeError):
            return  # not encodable as JSON (an int past 64 bits): no file to read
    try:
        raw = build_partial(f)
    except orjson.JSONEncodeError:
        return
    _read(raw)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(["exact", "sample"]), st.lists(mutation, min_size=1, max_size=4), st.booleans())
def test_counters_alone_give_a_counter_or_exit_3(files, name, muts, reseal) -> None:
    """The counter formats on their own (``counter_from_bytes``), mutated and, past the checksum,
    resealed: a counter whose stats can be computed, or a FormatError."""
    from audit.sketch import counter_from_bytes

    raw = split_partial(files[name].read_bytes())["counter"]
    data = _mutate(raw[:-4] if reseal else raw, muts)
    if reseal:
        data += struct.pack("<I", zlib.crc32(data))
    try:
        counter = counter_from_bytes(data, "c.bin")
    except FormatError as exc:
        assert exc.exit_code == ExitCode.BAD_INPUT and "\n" not in str(exc)
        return
    for rel in [None, *counter.relations()]:
        counter.stats(rel)
