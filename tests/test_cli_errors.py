"""The real `minhu` entry point, as a subprocess: every invalid value is one line naming it and the
expected form (exit 2), and expected failures (upstream down, SMTP down, the warehouse locked, a
scope that does not exist) are one line with their exit code, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from conftest import copy_home, free_port

from minhu import errors

pytestmark = pytest.mark.e2e

MINHU = Path(sys.executable).parent / "minhu"
REPO = Path(__file__).resolve().parents[1]


def minhu(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    full = {**os.environ, "MINHU_HOME": str(home), **env}
    return subprocess.run(
        [str(MINHU), *args], env=full, cwd=REPO, capture_output=True, text=True, timeout=900
    )


def one_line(out: subprocess.CompletedProcess) -> str:
    assert "Traceback" not in out.stderr, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("minhu: "), lines[0]
    return lines[0]


INVALID = [
    (["run", "--date", "2024-02-30"], ["'2024-02-30'", "YYYY-MM-DD"]),
    (["run", "--date", "2024-3-1"], ["'2024-3-1'", "YYYY-MM-DD"]),
    (["run", "--date", "yesterday"], ["'yesterday'", "YYYY-MM-DD"]),
    (["backfill", "--start", "2024-03-01", "--end", "2024-13-01"], ["'2024-13-01'", "YYYY-MM-DD"]),
    (["backfill", "--start", "2024-03-05", "--end", "2024-03-01"], ["2024-03-01", "--start <= --end"]),
    (["indicators", "--grain", "day", "--period", "2024-02-30"], ["'2024-02-30'", "YYYY-MM-DD"]),
    (["indicators", "--grain", "month", "--period", "2024-13"], ["'2024-13'", "YYYY-MM"]),
    (["indicators", "--grain", "week", "--period", "2024-W60"], ["'2024-W60'", "YYYY-Www"]),
    (["indicators", "--grain", "week", "--period", "2021-W53"], ["'2021-W53'", "YYYY-Www"]),  # 2021 has 52
    (["indicators", "--grain", "month", "--period", "2024-03-01"], ["'2024-03-01'", "YYYY-MM"]),  # the pair
    (["indicators", "--grain", "year", "--period", "2024-03"], ["'2024-03'", "YYYY"]),
    (["indicators", "--grain", "decade", "--period", "2024"], ["'decade'", "day"]),
    (
        ["indicators", "--grain", "day", "--period", "2024-03-01", "--scope", "bogus"],
        ["'bogus'", "<kind>:<value>"],
    ),
    (
        ["indicators", "--grain", "day", "--period", "2024-03-01", "--scope", "channel:"],
        ["'channel:'", "<kind>"],
    ),
    (["indicators", "--grain", "day", "--period", "2024-03-01", "--scope", "all:x"], ["'all:x'", "<kind>"]),
    (["report", "daily", "--period", "2024-02-30"], ["'2024-02-30'", "YYYY-MM-DD"]),
    (["report", "weekly", "--period", "2024-W60"], ["'2024-W60'", "YYYY-Www"]),
    (["report", "monthly", "--period", "2024-13"], ["'2024-13'", "YYYY-MM"]),
    (["report", "selfeval", "--period", "2024-12"], ["'2024-12'", "YYYY"]),
    (["report", "yearly", "--period", "2024"], ["'yearly'", "daily"]),
    (["import", "case", "x.csv"], ["'case'", "cases"]),
    (["import", "cases", "/no/such/file.csv"], ["/no/such/file.csv", "nothing imported"]),
    (["frobnicate"], ["'frobnicate'", "run"]),
]


@pytest.mark.unit
@pytest.mark.parametrize(("args", "parts"), INVALID, ids=[" ".join(a) for a, _ in INVALID])
def test_invalid_values_are_one_line_and_exit_2(tmp_path: Path, args: list[str], parts: list[str]) -> None:
    out = minhu(tmp_path / "home", *args)
    line = one_line(out)
    assert out.returncode == 2, line
    for part in parts:
        assert part in line, (part, line)
    assert out.stdout == ""
    assert not (tmp_path / "home" / "warehouse.duckdb").exists()  # nothing ran


@pytest.mark.unit
def test_the_exit_codes_of_the_error_classes() -> None:
    """Other engineers raise these; the classes, their codes and the ValueError compatibility."""
    assert issubclass(errors.InvalidInput, errors.ExpectedFailure) and issubclass(
        errors.InvalidInput, ValueError
    )
    assert all(issubclass(c, RuntimeError) for c in (errors.ExpectedFailure, errors.UpstreamFailure))
    codes = {
        c.__name__: c("x").exit_code
        for c in (
            errors.ExpectedFailure,
            errors.InvalidInput,
            errors.UpstreamFailure,
            errors.DeliveryFailure,
            errors.LockBusy,
        )
    }
    assert codes == {
        "ExpectedFailure": 1,
        "InvalidInput": 2,
        "UpstreamFailure": 3,
        "DeliveryFailure": 4,
        "LockBusy": 5,
    }
    assert errors.ExpectedFailure("y", exit_code=7).exit_code == 7 and str(errors.LockBusy("z")) == "z"


# ------------------------------------------------------------------------------ on a real warehouse


@pytest.fixture(scope="module")
def published(tmp_path_factory, published_day) -> Path:
    """A real published warehouse (2024-03-01, no report): a copy of the session's published night."""
    return copy_home(published_day, tmp_path_factory.mktemp("cli_errors") / "home")


def test_an_unknown_scope_value_names_the_known_ones(published: Path) -> None:
    out = minhu(
        published, "indicators", "--grain", "day", "--period", "2024-03-01", "--scope", "channel:微信"
    )
    line = one_line(out)
    assert out.returncode == 2 and "'channel:微信'" in line and "channel:12345热线" in line, line
    ok = minhu(
        published, "indicators", "--grain", "day", "--period", "2024-03-01", "--scope", "channel:12345热线"
    )
    assert ok.returncode == 0 and "case_count" in ok.stdout, ok.stderr


def test_a_valid_period_without_rows_says_so_on_stderr(published: Path) -> None:
    out = minhu(published, "indicators", "--grain", "month", "--period", "2030-01", "--format", "json")
    assert out.returncode == 0 and out.stdout.strip() == "[]"
    assert "no indicator rows for month 2030-01" in one_line(out)


def test_upstream_refusing_is_one_line_exit_3(published: Path, sources_url: str) -> None:
    out = minhu(
        published,
        "run",
        "--date",
        "2024-03-02",
        MINHU_SOURCE_URL=sources_url,
        MINHU_SOURCE_TOKEN="wrong-token",
    )
    line = one_line(out)
    assert out.returncode == 3 and "401" in line, line


def test_smtp_down_is_one_line_exit_4(published: Path) -> None:
    port = str(free_port())  # nothing listens there
    out = minhu(published, "report", "daily", "--period", "2024-03-01", "--send", MINHU_SMTP_PORT=port)
    line = one_line(out)
    assert out.returncode == 4 and f":{port}" in line and "SMTP" in line, line


def test_a_locked_warehouse_is_one_line_exit_5(published: Path) -> None:
    con = duckdb.connect(str(published / "warehouse.duckdb"))  # another process writing
    try:
        out = minhu(published, "indicators", "--grain", "day", "--period", "2024-03-01")
    finally:
        con.close()
    line = one_line(out)
    assert out.returncode == 5 and "in use by another process" in line, line
