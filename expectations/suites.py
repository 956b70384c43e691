"""The suites, one per boundary, each in its own module; every expectation names its severity
and a readable label (expectations/common.py).

- ``raw_landing`` (expectations/raw_landing.py): per source and window, the landing reconciles
  and the records keep the source contract.
- ``cases`` (expectations/cases.py): the case marts reconcile with what was landed.
- ``budget`` (expectations/budget.py): budget lines and payments as dbt built them:
  hierarchies, views, execution and the published budget.
- ``indicators`` (expectations/indicators.py): the indicators the reports read are coherent.

Severity: ``error`` stops publication, ``warning`` is reported. Aggregates are pushed into SQL
so each check hands GX a small DataFrame; where only the violating rows matter (timestamps,
rates) the query selects those rows and GX validates them (an empty frame passes). The suites
validate what dbt built (marts, and raw for the landing's own checks); a check whose table is
missing is reported as "model missing" (a warning).
"""

from __future__ import annotations

from expectations.budget import budget
from expectations.cases import cases
from expectations.gate import Suite
from expectations.indicators import indicators
from expectations.raw_landing import raw_landing

__all__ = ["all_suites", "budget", "cases", "indicators", "raw_landing"]


def all_suites() -> list[Suite]:
    return [raw_landing(), cases(), budget(), indicators()]
