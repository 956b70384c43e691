"""Expected failures: a fault of the world, not of the code, told in one line.

Raise (or subclass) these where a failure is expected -- bad input, an upstream down, SMTP refusing,
a lock held by another run. The `minhu` CLI prints ``minhu: <message>`` on stderr and exits with
``exit_code``; no traceback. A traceback is kept for bugs (every other exception).

The message is the one line: what failed, where, and what to do. Exit codes:

====  =====================================================================
1     `ExpectedFailure` (the default): a run that could not complete
2     `InvalidInput`: a command-line value (date, period, grain, scope, kind) is wrong
3     `UpstreamFailure`: a source system did not answer or answered wrongly
4     `DeliveryFailure`: a report or alert could not be delivered (SMTP)
5     `LockBusy`: another run holds the warehouse (or another lease) too long
====  =====================================================================
"""

from __future__ import annotations


class ExpectedFailure(RuntimeError):
    """An expected failure: ``str(exc)`` is the one line to print, ``exit_code`` the process's exit."""

    exit_code: int = 1

    def __init__(self, message: str, exit_code: int | None = None):
        super().__init__(message)
        self.message = message
        if exit_code is not None:
            self.exit_code = exit_code

    def __str__(self) -> str:
        return self.message


class InvalidInput(ExpectedFailure, ValueError):
    """A value given by the user is not valid; the message names it and the expected form.

    Also a ValueError, so code that validated with ValueError before keeps catching it.
    """

    exit_code = 2


class UpstreamFailure(ExpectedFailure):
    """A source (case platform, finance system) failed: down, refused, or a window did not add up."""

    exit_code = 3


class DeliveryFailure(ExpectedFailure):
    """A message could not be delivered (the SMTP server down or refusing)."""

    exit_code = 4


class LockBusy(ExpectedFailure):
    """A lock or lease is held by another run longer than this one is willing to wait."""

    exit_code = 5
