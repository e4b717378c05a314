"""Plain-text tables for the summaries on stderr: one label for the overall row, one way to
show a count that a sketch estimated, columns sized to their widest cell. Standard library only:
the CLI's summaries import it."""

from __future__ import annotations

from collections.abc import Sequence

#: The label of the row that sums every relation, in every table (the JSON key is ``overall``).
OVERALL = "overall"


def count(x: float | None, se: float | None = None) -> str:
    """A count with thousands separators. An estimate (a sketch's, with its standard error
    ``se``) is rounded to a whole number and shown as ``1,113 ± 40``."""
    if x is None:
        return "-"
    if se is None:
        if float(x).is_integer():
            return f"{int(x):,}"
        return f"{x:,.1f}"
    return f"{round(x):,} ± {round(se):,}"


def rate(x: float | None, se: float | None = None, digits: int = 4) -> str:
    """A rate with ``digits`` decimals, ``± se`` when it was estimated."""
    if x is None:
        return "-"
    return f"{x:.{digits}f}" if se is None else f"{x:.{digits}f} ± {se:.{digits}f}"


def grid(
    rows: Sequence[Sequence[str]], indent: str = "", rule: bool = False, left: Sequence[int] = (0,)
) -> list[str]:
    """Lines of a table: the columns in ``left`` (default the first) left-aligned, the others
    right-aligned, each as wide as its widest cell; ``rule`` puts a line of dashes under the
    first row (the header)."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [
        indent
        + "  ".join(
            c.ljust(w) if i in left else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in rows
    ]
    lines = [line.rstrip() for line in lines]
    if rule:
        lines.insert(1, indent + "  ".join("-" * w for w in widths))
    return lines
