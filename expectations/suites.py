"""The suites, one per boundary. Each expectation names its severity and a readable label."""

from __future__ import annotations

from expectations.gate import Check, Suite


def _meta(label: str, severity: str = "error") -> dict:
    return {"label": label, "severity": severity}


def raw_landing() -> Suite:
    def landing_expectations() -> list:
        import great_expectations as gx

        e = gx.expectations
        return [
            e.ExpectColumnPairValuesToBeEqual(
                column_A="landed_count",
                column_B="source_count",
                meta=_meta("landed count = source count (per source and window)"),
            ),
            e.ExpectColumnPairValuesToBeEqual(
                column_A="loaded_rows",
                column_B="landed_count",
                meta=_meta("rows loaded into raw = records landed (per batch)"),
            ),
        ]

    return Suite(
        "raw_landing",
        [
            Check(
                "landings",
                "select batch, landed_count, coalesce(source_count, landed_count) as source_count,"
                " loaded_rows from raw.landings where kind = 'api'",
                landing_expectations,
            )
        ],
    )


def all_suites() -> list[Suite]:
    return [raw_landing()]
