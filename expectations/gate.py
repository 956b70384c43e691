"""The quality gate: Great Expectations suites validated against the warehouse.

GX cannot validate DuckDB through its SQL datasource, so each check reads a DataFrame from
DuckDB (a table, or a SQL query that pushes an aggregate check into the database) and GX
validates that DataFrame. Every expectation carries a severity in its ``meta``: ``error`` stops
publication, ``warning`` is reported.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

log = logging.getLogger(__name__)


@dataclass
class Check:
    """One batch to validate: a SQL query on the warehouse and the expectations on its result."""

    name: str
    sql: str
    expectations: Callable[[], list]  # built lazily: importing GX is slow


@dataclass
class Suite:
    name: str
    checks: list[Check]


@dataclass
class Outcome:
    suite: str
    check: str
    expectation: str
    severity: str
    success: bool
    details: str = ""

    @property
    def label(self) -> str:
        return f"{self.suite}.{self.check}: {self.expectation}"


@dataclass
class GateResult:
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def errors(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.success and o.severity == "error"]

    @property
    def warnings(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.success and o.severity != "error"]

    @property
    def passed(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        ok = sum(o.success for o in self.outcomes)
        lines = [
            f"{ok}/{len(self.outcomes)} expectations passed, {len(self.errors)} errors, "
            f"{len(self.warnings)} warnings"
        ]
        lines += [f"  ERROR   {o.label} {o.details}" for o in self.errors]
        lines += [f"  WARNING {o.label} {o.details}" for o in self.warnings]
        return "\n".join(lines)


def _describe(expectation) -> str:
    kwargs = {
        k: v
        for k, v in expectation.model_dump(exclude_none=True).items()
        if k
        not in (
            "meta",
            "id",
            "notes",
            "rendered_content",
            "description",
            "severity",
            "result_format",
            "catch_exceptions",
            "windows",
            "batch_id",
        )
    }
    args = ", ".join(f"{k}={v}" for k, v in kwargs.items())
    return f"{type(expectation).__name__}({args})"


def validate(warehouse: Path, suites: list[Suite]) -> GateResult:
    """Run every suite against the warehouse file; never raises on a failed expectation."""
    import great_expectations as gx

    warnings.filterwarnings("ignore", module="great_expectations")
    context = gx.get_context(mode="ephemeral")
    source = context.data_sources.add_pandas("minhu")
    result = GateResult()
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        for suite in suites:
            for check in suite.checks:
                df: pd.DataFrame = con.execute(check.sql).df()
                asset = source.add_dataframe_asset(f"{suite.name}.{check.name}")
                batch = asset.add_batch_definition_whole_dataframe("all").get_batch(
                    batch_parameters={"dataframe": df}
                )
                gx_suite = gx.ExpectationSuite(name=f"{suite.name}.{check.name}")
                for exp in check.expectations():
                    gx_suite.add_expectation(exp)
                run = batch.validate(gx_suite, result_format="SUMMARY")
                for r in run.results:
                    cfg = r.expectation_config
                    details = ""
                    if not r.success:
                        res = r.result or {}
                        details = str(
                            {
                                k: res[k]
                                for k in ("observed_value", "unexpected_count", "partial_unexpected_list")
                                if k in res
                            }
                        )
                    result.outcomes.append(
                        Outcome(
                            suite=suite.name,
                            check=check.name,
                            expectation=(cfg.meta or {}).get("label") or _describe_cfg(cfg),
                            severity=(cfg.meta or {}).get("severity", "error"),
                            success=bool(r.success),
                            details=details,
                        )
                    )
    finally:
        con.close()
    return result


def _describe_cfg(cfg) -> str:
    args = ", ".join(f"{k}={v}" for k, v in cfg.kwargs.items() if k not in ("batch_id",))
    return f"{cfg.type}({args})"
