"""
### report_monthly — the 月报 (Airflow DAG)

On the 1st of every month at 09:00 Asia/Shanghai: the 月报 of the previous calendar month, from
the published warehouse, sent once per month and recipient list to `[reports] monthly` of
`config/recipients.toml` (re-running does not send again; `minhu report monthly --period P
--resend` does).

**Never from bad data.** If `$MINHU_HOME/reports/quality/last_gate.json` says the last quality
gate failed, or a day of the month has no case data loaded, the data engineers get an alert,
nothing is sent and the task fails.

Period: `conf {"period": "2024-03"}`, else the month before the run's data interval end
(manual runs: before `run_after`). Shell equivalent: `minhu report monthly --period 2024-03 --send`.
"""

from __future__ import annotations

import pendulum

from pipeline.report_dags import report_dag

# An airflow dag file (the word matters to the dag processor's safe mode); the shape is shared.
report_monthly = report_dag(
    "monthly", "0 9 1 * *", pendulum.datetime(2024, 1, 1, tz="Asia/Shanghai"), doc_md=__doc__
)
