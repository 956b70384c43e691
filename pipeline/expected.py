"""Which exceptions are expected failures, and the one line each prints (the CLI's top-level handler).

`expected_failure(exc)` returns a `minhu.errors.ExpectedFailure` for an exception that is a fault of
the world -- bad input, an upstream down, SMTP refusing, a lock held, a missing landing, a failed
quality gate -- and None for a bug (the CLI then lets the traceback through).

Every message is one line. When the original text has more lines (the gate's summary, dbt's log
tail), the first line is printed and the whole text is kept in ``$MINHU_HOME/logs/last_error.log``,
whose path the line names.
"""

from __future__ import annotations

import smtplib
import traceback
from datetime import datetime

from minhu.calendar import TZ
from minhu.errors import DeliveryFailure, ExpectedFailure, LockBusy, UpstreamFailure
from minhu.settings import get_settings

# Expected failures raised by the stages, by class name (no stage is imported here just to test).
_BY_NAME = {
    "GateFailed": ExpectedFailure,  # pipeline.nightly: the build failed its audit; nothing published
    "ExtractError": UpstreamFailure,  # extract.api / extract.land: a source window failed
    "ArchiveError": ExpectedFailure,  # extract.rows: an archive file cannot be read
    "DbtError": ExpectedFailure,  # pipeline.transform: dbt failed on the data (its log is kept)
    "ReportBlocked": ExpectedFailure,  # reports.common: a report refused (gate failed, data missing)
    "ConfigError": ExpectedFailure,  # reports.selfeval: configuration as data is wrong
    "LeaseLost": ExpectedFailure,  # minhu.lease: another run took the lease over; nothing published
    "PublishRefused": ExpectedFailure,  # pipeline.nightly: ungated build or stale base; nothing published
}


def _from_smtp(exc: BaseException) -> bool:
    return isinstance(exc, smtplib.SMTPException) or any(
        frame.f_code.co_filename.endswith("smtplib.py") for frame, _ in traceback.walk_tb(exc.__traceback__)
    )


def _keep(text: str) -> str:
    """Keep a long text in $MINHU_HOME/logs/last_error.log; '(details: <path>)' to append to the line."""
    try:
        logs = get_settings().logs_dir
        logs.mkdir(parents=True, exist_ok=True)
        path = logs / "last_error.log"
        path.write_text(f"{datetime.now(TZ).isoformat()}\n{text}\n", encoding="utf-8")
    except OSError:
        return ""
    return f"(details: {path})"


def _one_line(text: str) -> str:
    lines = [ln.strip() for ln in str(text).strip().splitlines() if ln.strip()]
    if len(lines) <= 1:
        return lines[0] if lines else ""
    return f"{lines[0].rstrip(':')} {_keep(text) or f'(+{len(lines) - 1} more lines)'}"


def expected_failure(exc: BaseException) -> ExpectedFailure | None:
    """The expected failure an exception is, or None if it is a bug."""
    if isinstance(exc, ExpectedFailure):
        if "\n" in exc.message:
            return type(exc)(_one_line(exc.message), exc.exit_code)
        return exc
    result = getattr(exc, "result", None)
    if type(exc).__name__ == "GateFailed" and hasattr(result, "errors"):
        labels = "; ".join(" ".join(f"{o.label} {o.details}".split()) for o in result.errors)
        return ExpectedFailure(
            f"quality gate failed, nothing published: {len(result.errors)} error expectation(s) failed: "
            f"{labels} {_keep(str(exc))}".rstrip()
        )
    for cls in type(exc).__mro__:
        kind = _BY_NAME.get(cls.__name__)
        if kind is not None:
            return kind(_one_line(str(exc)))
    if _from_smtp(exc) and isinstance(exc, OSError | smtplib.SMTPException):
        s = get_settings()
        return DeliveryFailure(
            f"cannot deliver mail via SMTP {s.smtp_host}:{s.smtp_port}: {_one_line(str(exc)) or type(exc).__name__}"
            " (is the SMTP server up? MINHU_SMTP_HOST / MINHU_SMTP_PORT)"
        )
    name = type(exc).__module__ + "." + type(exc).__name__
    if name.startswith("requests.") or name.startswith("urllib3."):
        s = get_settings()
        return UpstreamFailure(f"source {s.source_url} unreachable: {_one_line(str(exc))}")
    if name == "_duckdb.IOException" or name == "duckdb.IOException":
        if "lock" in str(exc).lower():
            return LockBusy(
                f"the warehouse is in use by another process: {_one_line(str(exc))} (retry when it is done)"
            )
        return ExpectedFailure(_one_line(str(exc)))
    if isinstance(exc, FileNotFoundError | ValueError | TimeoutError):
        return ExpectedFailure(_one_line(str(exc)) or type(exc).__name__)
    return None
