"""Whole small inputs (reports, partial files) read in one call."""

from __future__ import annotations

from audit.errors import InputError


def read_whole(path: str, failure: str) -> bytes:
    """The bytes of ``path``; an ``OSError`` becomes ``InputError("{failure}: {reason}")`` naming it."""
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError as exc:
        raise InputError(f"{failure}: {exc.strerror or exc}", path=path) from None
