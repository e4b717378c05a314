"""hallu-audit: audit language-model hallucination from training corpus to graded answers.

The library is importable without the CLI: no module here prints or exits, except ``audit.cli``.
"""

__version__ = "0.1.0"
