"""
### report_weekly — the 周报 (Airflow DAG)

Every Monday at 09:00 Asia/Shanghai: the 周报 of the previous ISO week (Monday–Sunday), from
the published warehouse, sent once per week and recipient list to `[reports] weekly` of
`config/recipients.toml` (re-running does not send again; `minhu report weekly --period P
--resend` does).

**Never from bad data.** If `$MINHU_HOME/reports/quality/last_gate.json` says the last quality
gate failed, or a day of the week has no case data loaded, the data engineers get an alert,
nothing is sent and the task fails.

Period: `conf {"period": "2024-W10"}`, else the ISO week before the run's data interval end
(manual runs: before `run_after`). Shell equivalent: `minhu report weekly --period 2024-W10 --send`.
"""

from __future__ import annotations

import pendulum

from pipeline.report_dags import report_dag

# An airflow dag file (the word matters to the dag processor's safe mode); the shape is shared.
report_weekly = report_dag(
    "weekly", "0 9 * * 1", pendulum.datetime(2024, 1, 1, tz="Asia/Shanghai"), doc_md=__doc__
)
