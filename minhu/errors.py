"""Expected failures: one clear line (what, where, what to do) and a non-zero exit, never a traceback."""

from __future__ import annotations


class ExpectedFailure(RuntimeError):
    """An expected failure; `str(exc)` is the one line the CLI prints; `exit_code` its exit status."""

    exit_code = 1
