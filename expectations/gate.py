"""The quality gate: Great Expectations suites validated against the warehouse.

GX cannot validate DuckDB through its SQL datasource, so each check reads a DataFrame from
DuckDB (a table, or a SQL query that pushes an aggregate check into the database) and GX
validates that DataFrame. Every expectation carries a severity in its ``meta``: ``error`` stops
publication, ``warning`` is reported.

One process, one ephemeral GX context for the whole gate. When ``docs_dir`` is given, the
validation results are rendered by GX's own Data Docs site builder into that folder.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from minhu import warehouse as minhu_warehouse

log = logging.getLogger(__name__)

SEVERITIES = ("error", "warning")


@dataclass(frozen=True)
class Catalog:
    """What the warehouse holds: ``schema.table`` names (lower case), for checks that adapt."""

    tables: frozenset[str]

    def has(self, name: str) -> bool:
        return name.lower() in self.tables


@dataclass
class Check:
    """One batch to validate: a SQL query on the warehouse and the expectations on its result.

    ``sql`` is a query, or a function of the warehouse's Catalog returning one (for a table that
    may be absent, such as the imported published tables). ``requires`` names tables without
    which the check cannot run: it is then reported as a warning ("model missing"), never
    silently passed.
    ``index`` names the columns that identify a failing row in the details (a batch, a case).
    ``listing`` names a column whose values (all of them, joined) a failed expectation lists in
    its ``Outcome.listing`` (the unnamed codes: "科目 2089999、科目 21208"). ``note`` turns the
    check's rows into a sentence the result carries whatever the outcome (``GateResult.notes``);
    a check may have a note and no expectation.
    """

    name: str
    sql: str | Callable[[Catalog], str]
    expectations: Callable[[], list]  # built lazily: importing GX is slow
    requires: tuple[str, ...] = ()
    index: tuple[str, ...] = ()
    description: str = ""
    listing: str | None = None
    note: Callable[[pd.DataFrame], str] | None = None

    def query(self, catalog: Catalog) -> str:
        return self.sql(catalog) if callable(self.sql) else self.sql


@dataclass
class Suite:
    name: str
    checks: list[Check]
    description: str = ""


@dataclass
class Outcome:
    suite: str
    check: str
    expectation: str
    severity: str
    success: bool
    details: str = ""
    rows: int | None = None
    listing: str = ""  # every value of the check's listing column, for a failed expectation

    @property
    def label(self) -> str:
        return f"{self.suite}.{self.check}: {self.expectation}"


@dataclass
class GateResult:
    outcomes: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0
    docs: str | None = None  # the GX Data Docs index, when rendered
    notes: list[str] = field(default_factory=list)  # "suite.check: sentence", whatever the outcome

    @property
    def errors(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.success and o.severity == "error"]

    @property
    def warnings(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.success and o.severity != "error"]

    @property
    def passed(self) -> bool:
        return not self.errors

    def counts(self) -> dict:
        return {
            "expectations": len(self.outcomes),
            "succeeded": sum(o.success for o in self.outcomes),
            "errors": len(self.errors),
            "warnings": len(self.warnings),
        }

    def summary(self) -> str:
        c = self.counts()
        lines = [
            f"{c['succeeded']}/{c['expectations']} expectations passed, {c['errors']} errors, "
            f"{c['warnings']} warnings"
        ]
        lines += [f"  ERROR   {o.label} {o.listing or o.details}" for o in self.errors]
        lines += [f"  WARNING {o.label} {o.listing or o.details}" for o in self.warnings]
        lines += [f"  NOTE    {n}" for n in self.notes]
        return "\n".join(lines)


def catalog(con: duckdb.DuckDBPyConnection) -> Catalog:
    rows = con.execute(
        "select lower(table_schema || '.' || table_name) from information_schema.tables"
        " where table_catalog = current_database()"
    ).fetchall()
    return Catalog(frozenset(r[0] for r in rows))


def _short(value, limit: int = 400) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _plain(value):
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):  # lists and arrays
        pass
    return str(value)


def _details(result: dict) -> str:
    """A short, readable account of a failed expectation: what was seen and which rows."""
    parts = []
    if "observed_value" in result:
        parts.append(f"observed {result['observed_value']}")
    if result.get("unexpected_count"):
        parts.append(f"{result['unexpected_count']} unexpected of {result.get('element_count')}")
    rows = [r for r in result.get("partial_unexpected_index_list") or [] if isinstance(r, dict)]
    if rows:
        shown = [{k: _plain(v) for k, v in r.items()} for r in rows[:5]]
        parts.append(f"e.g. {shown}")
    elif result.get("partial_unexpected_list"):
        parts.append(f"e.g. {result['partial_unexpected_list'][:5]}")
    return _short("; ".join(parts), 800)


def _describe_cfg(cfg) -> str:
    args = ", ".join(f"{k}={v}" for k, v in cfg.kwargs.items() if k not in ("batch_id",))
    return f"{cfg.type}({args})"


def _quiet_gx() -> None:
    warnings.filterwarnings("ignore", module="great_expectations")
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    for name in ("great_expectations", "great_expectations.core", "great_expectations.data_context"):
        logging.getLogger(name).setLevel(logging.ERROR)


def _docs_site(context, docs_dir: Path) -> None:
    """A filesystem Data Docs site under docs_dir, rebuilt by each gate run."""
    for sub in ("validations", "expectations", "index.html"):
        target = docs_dir / sub
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
    docs_dir.mkdir(parents=True, exist_ok=True)
    context.add_data_docs_site(
        site_name="minhu",
        site_config={
            "class_name": "SiteBuilder",
            "show_how_to_buttons": False,
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
        },
    )


def validate(warehouse: Path, suites: list[Suite], docs_dir: Path | None = None) -> GateResult:
    """Run every suite against the warehouse file; never raises on a failed expectation."""
    started = time.monotonic()
    _quiet_gx()
    import great_expectations as gx

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = {"globally": False, "metric_calculations": False}
    if docs_dir is not None:
        _docs_site(context, docs_dir)
    source = context.data_sources.add_pandas("minhu")
    result = GateResult()
    con = minhu_warehouse.connect(warehouse, read_only=True)  # the time zone and memory budget
    try:
        cat = catalog(con)
        for suite in suites:
            for check in suite.checks:
                result.outcomes += _run_check(gx, context, source, con, cat, suite, check, result.notes)
    finally:
        con.close()
    if docs_dir is not None:
        try:
            context.build_data_docs(site_names=["minhu"])
            result.docs = str(docs_dir / "index.html")
        except Exception as exc:  # the docs are a view of the result, not the result
            log.error("could not render the GX Data Docs into %s: %s", docs_dir, exc)
    result.seconds = round(time.monotonic() - started, 2)
    return result


LISTED = 200  # values of a listing shown at most


def _listing(df: pd.DataFrame, column: str | None) -> str:
    if not column or column not in df.columns or df.empty:
        return ""
    values = [str(v) for v in df[column].tolist()]
    more = f" 等 {len(values)} 项" if len(values) > LISTED else ""
    return "、".join(values[:LISTED]) + more


def _run_check(
    gx, context, source, con, cat: Catalog, suite: Suite, check: Check, notes: list[str] | None = None
) -> list[Outcome]:
    name = f"{suite.name}.{check.name}"
    missing = [t for t in check.requires if not cat.has(t)]
    if missing:
        return [
            Outcome(suite.name, check.name, "model missing", "warning", False, f"no {', '.join(missing)}")
        ]
    expectations = check.expectations()
    try:
        df: pd.DataFrame = con.execute(check.query(cat)).df()
    except duckdb.Error as exc:  # a check that cannot even read its data fails every expectation
        detail = _short(f"query failed: {exc}")
        return [
            Outcome(suite.name, check.name, (e.meta or {}).get("label") or type(e).__name__,
                    (e.meta or {}).get("severity", "error"), False, detail)
            for e in expectations
        ]  # fmt: skip
    if check.note is not None and notes is not None:
        notes.append(f"{name}: {check.note(df)}")
    if not expectations:
        return []
    listing = _listing(df, check.listing)
    batch = source.add_dataframe_asset(name).add_batch_definition_whole_dataframe("all")
    gx_suite = context.suites.add(gx.ExpectationSuite(name=name, meta={"description": check.description}))
    for exp in expectations:
        severity = (exp.meta or {}).get("severity", "error")
        if severity not in SEVERITIES:
            raise ValueError(f"{name}: severity {severity!r} is not one of {SEVERITIES}")
        gx_suite.add_expectation(exp)
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name=name, data=batch, suite=gx_suite)
    )
    result_format: dict = {"result_format": "SUMMARY", "partial_unexpected_count": 5}
    index = [c for c in check.index if c in df.columns]
    if index:
        result_format["unexpected_index_column_names"] = index
    run = definition.run(batch_parameters={"dataframe": df}, result_format=result_format)
    outcomes = []
    for r in run.results:
        cfg = r.expectation_config
        meta = cfg.meta or {}
        details = ""
        if not r.success:
            exc = (r.exception_info or {}).get("exception_message") if r.exception_info else None
            details = _short(f"exception: {exc}") if exc else _details(r.result or {})
        outcomes.append(
            Outcome(
                suite=suite.name,
                check=check.name,
                expectation=meta.get("label") or _describe_cfg(cfg),
                severity=meta.get("severity", "error"),
                success=bool(r.success),
                details=details,
                rows=len(df),
                listing=listing if not r.success else "",
            )
        )
    return outcomes
