"""
### report_weekly — the 周报 (Airflow DAG)

The 周报 of the previous ISO week (Monday–Sunday), from the published warehouse, sent once per
week and recipient list to `[reports] weekly` of `config/recipients.toml` (re-running does not
send again; `minhu report weekly --period P --resend` does).

**When.** On the data and the clock: a run on each `minhu_published_warehouse` asset event (the
`nightly` publish, carrying its business date) and one every Monday at 09:00 Asia/Shanghai. A run
sends when the week's Sunday is published AND Monday 09:00 has come (`pipeline.report_dags.
report_due`), else it is skipped: Sunday published Monday 02:10 → sent at 09:00; published at
10:30 → sent at 10:30.

**Never from bad data.** If `$MINHU_HOME/reports/quality/last_gate.json` says the last quality
gate failed, or a day of the week has no case data loaded, the data engineers get an alert,
nothing is sent and the task fails.

Period: `conf {"period": "2024-W10"}` (sent at once, no waiting), else the ISO week before the
run's local date. Shell equivalent: `minhu report weekly --period 2024-W10 --send`.
"""

from __future__ import annotations

import pendulum

from pipeline.report_dags import report_dag

# An airflow dag file (the word matters to the dag processor's safe mode); the shape is shared.
report_weekly = report_dag("weekly", pendulum.datetime(2024, 1, 1, tz="Asia/Shanghai"), doc_md=__doc__)
