"""The one record type and the one config type that flow through ``hallu-audit corpus``."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field

import audit
from audit import normalize


@dataclass(slots=True)
class Document:
    """One document read from a corpus: its text and where it came from (for error messages)."""

    text: str
    id: str | None
    source: str  # file path, or "-" for stdin
    line: int  # 1-based line (JSONL, text) or row (Parquet); 0 for --doc-per-file
    nbytes: int  # bytes of the raw record, for throughput and the report


@dataclass(slots=True, frozen=True)
class Mention:
    """One mention of a fact: fact id, its relation, the object stated, where it was found."""

    fact: str
    relation: str
    obj: str
    doc: str | None
    position: int  # character offset into the normalised text
    # as found in the text the extractor read (``--mentions``); empty where not known
    subject_found: str = ""
    object_found: str = ""


@dataclass(frozen=True)
class CorpusConfig:
    """Everything that changes what is counted. Its ``id`` goes into every report and sketch,
    so results made with different settings are refused when mixed."""

    mode: str = "facts"  # "facts" (reference table) or "patterns" (open extraction)
    facts_digest: str = ""  # sha256 of the normalised reference table, "" in pattern mode
    patterns: tuple[str, ...] = ()
    scope: str = "sentence"  # sentence | window | doc
    window: int = 0
    normalizer: str = normalize.NAME
    dedup: str = "off"  # off | exact | minhash
    minhash: tuple[int, int, float] = (0, 0, 0.0)  # (num_perm, shingle size, threshold) if used
    counter: str = "exact"  # exact | sample:<max facts> (bounded-memory sketch)
    seed: int = 1
    version: str = field(default=audit.__version__)

    @property
    def id(self) -> str:
        """A stable short id: the same settings always give the same id, on any machine."""
        blob = repr(sorted(asdict(self).items())).encode()
        return "cfg-" + hashlib.sha256(blob).hexdigest()[:16]

    def describe(self) -> dict:
        return {**asdict(self), "id": self.id}
