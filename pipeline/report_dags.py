"""The shape every report DAG shares (report_daily, report_weekly, report_monthly), and when the
周报 and 月报 are due.

Two tasks, `period > send`: the period of the run, then the report rendered from the published
warehouse and sent once per period and recipient list. A refused report (failed gate, period
not loaded) fails the task without retries: the data engineers have been alerted.

**report_daily** runs on its cron (08:00): the safety net behind the 日报 that `nightly` sends.

**report_weekly / report_monthly** run on the data *and* the clock: an `AssetOrTimeSchedule` of
the asset `PUBLISHED` (an event each time `nightly` publishes, its extra carrying the business
date) or the cron (Monday / the 1st, 09:00). Each run asks `report_due`: the period that ended
before today (Asia/Shanghai) is sent only when its last day has been published AND its hour has
come. Whichever of the two comes second sends: Sunday published Monday 02:10 → the 02:10 asset
run waits, the 09:00 cron run sends; Sunday published late at 10:30 → the 09:00 run waits
(silently: the late night has alerted already), the 10:30 asset run sends. A run that is not
due is *skipped* (the `send` task with it), never failed. Sending is once per period, so the two
runs can never send twice.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

from minhu.calendar import TZ

log = logging.getLogger(__name__)

PERIOD_FORMAT = {"daily": "YYYY-MM-DD", "weekly": "YYYY-Www (ISO week)", "monthly": "YYYY-MM"}
# when each report is due (Asia/Shanghai): one home for the cron and the hour the check uses
SCHEDULES = {"daily": "0 8 * * *", "weekly": "0 9 * * 1", "monthly": "0 9 1 * *"}
DUE_HOUR = {"daily": 8, "weekly": 9, "monthly": 9}
# The published warehouse as an Airflow asset (name and URI; the URI is no path: the file lives
# wherever $MINHU_HOME is). `nightly`'s publishing task lists it in its outlets.
PUBLISHED_NAME = "minhu_published_warehouse"
PUBLISHED_URI = "minhu://warehouse/published"
RECENT_EVENTS = 60  # asset events a run looks back over (two months of nights and re-runs)


def published_asset():
    from airflow.sdk import Asset

    return Asset(name=PUBLISHED_NAME, uri=PUBLISHED_URI)


def announce_published(context, business_date: str) -> None:
    """In the publishing task: the asset event carries the business date just published."""
    context["outlet_events"][published_asset()].extra = {"business_date": business_date}


def last_day_before(kind: str, today: date) -> date:
    """The last day of the period that ended before `today`: the Sunday of the previous ISO
    week (weekly) or the last day of the previous month (monthly)."""
    if kind == "weekly":
        return today - timedelta(days=today.isoweekday())
    if kind == "monthly":
        return today.replace(day=1) - timedelta(days=1)
    raise ValueError(f"report_due knows weekly and monthly, not {kind!r}")


def report_due(kind: str, now: datetime, published: Iterable[date]) -> tuple[str | None, str]:
    """Decide whether the period that ended before `now`'s local date is due at `now`.

    Due when its last day is among the `published` business dates AND `now` is at or after the
    report's hour on the day after that last day. Returns (period or None, the reason in words).
    """
    from pipeline.dates import previous_report_period

    if now.tzinfo is None:
        raise ValueError(f"a report run's time must carry its offset: {now!r}")
    local = now.astimezone(TZ)
    period = previous_report_period(kind, local)
    last = last_day_before(kind, local.date())
    due_at = datetime.combine(last + timedelta(days=1), time(DUE_HOUR[kind]), TZ)
    if local < due_at:
        return None, f"{kind} {period} is due at {due_at.isoformat()}, not yet at {local.isoformat()}"
    if last not in set(published):
        return None, f"{kind} {period}: its last day {last} is not published yet"
    return period, f"{kind} {period}: {last} is published and {due_at.isoformat()} has come"


def published_dates(context) -> list[date]:
    """Business dates of the asset events this run sees: the events that triggered it and the
    most recent events of the asset (a cron run has no triggering events)."""
    from pipeline.dates import parse_date

    asset = published_asset()
    events = list((context.get("triggering_asset_events") or {}).get(asset, []))
    inlets = context.get("inlet_events")
    if inlets is not None:
        events += list(inlets[asset].ascending(False).limit(RECENT_EVENTS))
    dates = set()
    for event in events:
        value = (getattr(event, "extra", None) or {}).get("business_date")
        if value:
            try:
                dates.add(parse_date(str(value)))
            except ValueError:
                log.warning("asset event %s carries no business date I can read: %r", event, value)
    return sorted(dates)


def run_moment(context) -> datetime:
    """When this run counts as happening: the run's run_after (the cron time, or the time an
    asset event queued it), else its logical date, else now."""
    dag_run = context.get("dag_run")
    for value in (getattr(dag_run, "run_after", None) if dag_run else None, context.get("logical_date")):
        if isinstance(value, datetime):
            return value
    return datetime.now(TZ)


def report_dag(kind: str, start, doc_md: str):
    """Build the DAG `report_<kind>`: on its cron in Asia/Shanghai (daily), or on the published
    asset or its cron, whichever comes (weekly, monthly; see the module doc)."""
    from airflow.sdk import (
        AssetOrTimeSchedule,
        CronDataIntervalTimetable,
        CronTriggerTimetable,
        Param,
        dag,
        task,
    )

    from pipeline.alerts import failure_notifier

    on_data = kind != "daily"
    if on_data:
        schedule = AssetOrTimeSchedule(
            timetable=CronTriggerTimetable(SCHEDULES[kind], timezone="Asia/Shanghai"),
            assets=[published_asset()],
        )
    else:
        schedule = CronDataIntervalTimetable(SCHEDULES[kind], timezone="Asia/Shanghai")

    @dag(
        dag_id=f"report_{kind}",
        schedule=schedule,
        start_date=start,
        catchup=False,
        max_active_runs=1,
        doc_md=doc_md,
        tags=["minhu", "report"],
        params={"period": Param(None, type=["null", "string"], description=PERIOD_FORMAT[kind])},
        default_args={
            "retries": 1,
            "retry_delay": timedelta(minutes=10),
            "on_failure_callback": failure_notifier(),
        },
    )
    def report_dag_body():
        @task(inlets=[published_asset()] if on_data else [])
        def period(**context) -> str:
            from pipeline.dates import report_period_from_context

            conf = getattr(context.get("dag_run"), "conf", None) or {}
            if not on_data or conf.get("period") or (context.get("params") or {}).get("period"):
                return report_period_from_context(kind, context)
            from airflow.sdk.exceptions import AirflowSkipException

            seen = published_dates(context)
            chosen, reason = report_due(kind, run_moment(context), seen)
            log.info("%s (published dates seen: %s)", reason, ", ".join(d.isoformat() for d in seen[-10:]))
            if chosen is None:
                raise AirflowSkipException(reason)
            return chosen

        @task
        def send(p: str) -> dict:
            from airflow.exceptions import AirflowFailException

            from pipeline.reporting import ReportBlocked, report

            try:
                return report(kind, p, send=True)
            except ReportBlocked as exc:  # the engineers have been alerted; retrying cannot help
                raise AirflowFailException(str(exc)) from exc

        send(period())

    return report_dag_body()
