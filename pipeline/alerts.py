"""Failure emails for Airflow tasks, through the smtp provider's SmtpNotifier."""

from __future__ import annotations

from minhu.settings import get_settings


def failure_notifier():
    """A notifier that emails the data engineers when a task fails (light to build at parse time)."""
    import tomllib

    from airflow.providers.smtp.notifications.smtp import SmtpNotifier

    s = get_settings()
    config = tomllib.loads((s.config_dir / "recipients.toml").read_text(encoding="utf-8"))
    return SmtpNotifier(
        smtp_conn_id="minhu_smtp",
        from_email=s.mail_from,
        to=config["alerts"]["data_engineers"],
        subject="【minhu】任务失败 {{ ti.dag_id }}.{{ ti.task_id }} {{ ds }}",
        html_content="<p>Task {{ ti.task_id }} of {{ ti.dag_id }} failed (try {{ ti.try_number }}).</p>"
        "<p>Log: {{ ti.log_url }}</p>",
    )


def failure_notifier_unless_gate():
    """`failure_notifier`, except after a quality-gate failure: the gate has alerted already."""
    notifier = failure_notifier()

    def on_failure(context) -> None:
        exc = context.get("exception")
        if "GateFailed" in (type(exc).__name__, type(getattr(exc, "__cause__", None)).__name__):
            return
        notifier(context)

    return on_failure
