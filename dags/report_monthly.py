"""
### report_monthly — the 月报 (Airflow DAG)

The 月报 of the previous calendar month, from the published warehouse, sent once per month and
recipient list to `[reports] monthly` of `config/recipients.toml` (re-running does not send
again; `minhu report monthly --period P --resend` does).

**When.** On the data and the clock: a run on each `minhu_published_warehouse` asset event (the
`nightly` publish, carrying its business date) and one on the 1st of every month at 09:00
Asia/Shanghai. A run sends when the month's last day is published AND 09:00 on the 1st has come
(`pipeline.report_dags.report_due`), else it is skipped; 12-31 published on 01-01 → the December
月报 of the year before.

**Never from bad data.** If `$MINHU_HOME/reports/quality/last_gate.json` says the last quality
gate failed, or a day of the month has no case data loaded, the data engineers get an alert,
nothing is sent and the task fails.

Period: `conf {"period": "2024-03"}` (sent at once, no waiting), else the month before the run's
local date. Shell equivalent: `minhu report monthly --period 2024-03 --send`.
"""

from __future__ import annotations

import pendulum

from pipeline.report_dags import report_dag

# An airflow dag file (the word matters to the dag processor's safe mode); the shape is shared.
report_monthly = report_dag("monthly", pendulum.datetime(2024, 1, 1, tz="Asia/Shanghai"), doc_md=__doc__)
