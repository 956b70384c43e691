"""
### report_daily — the 日报 (Airflow DAG)

Every day at 08:00 Asia/Shanghai: the 日报 of the previous local date, from the published
warehouse, sent to `[reports] daily` of `config/recipients.toml`.

**Who sends the 日报.** The `nightly` DAG already sends it at the end of its run (after
publish). This DAG is the safety net: sending is once per date and recipient list (a marker in
`$MINHU_HOME/reports/daily/<date>/`), so when the nightly run has sent it, this run only
re-renders the archive and sends nothing; when the nightly run did not get as far (a late or
re-run night), this run sends it at 08:00.

**Never from bad data.** If `$MINHU_HOME/reports/quality/last_gate.json` says the last quality
gate failed, or the date's case data is not loaded, the data engineers get an alert, nothing is
sent and the task fails.

Period: `conf {"period": "2024-03-01"}`, else the local day before the run's data interval end
(manual runs: before `run_after`). Shell equivalent: `minhu report daily --period 2024-03-01 --send`.
"""

from __future__ import annotations

import pendulum

from pipeline.report_dags import report_dag

# An airflow dag file (the word matters to the dag processor's safe mode); the shape is shared.
report_daily = report_dag("daily", pendulum.datetime(2024, 1, 2, tz="Asia/Shanghai"), doc_md=__doc__)
