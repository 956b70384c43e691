"""`minhu`: one command line over the same functions the DAG tasks call."""

from __future__ import annotations

import argparse
import csv
import json
import logging
import sys

from minhu.errors import InvalidInput
from minhu.settings import get_settings

from .dates import REPORT_GRAIN, check_period, date_range, parse_date
from .expected import expected_failure


def _print_json(obj) -> None:
    print(json.dumps(obj, ensure_ascii=False, default=str))


def cmd_run(args) -> int:
    day = parse_date(args.date, "--date")  # invalid input is answered before the pipeline is imported
    from . import nightly

    _print_json(nightly.run(day, send_report=not args.no_report))
    return 0


def cmd_backfill(args) -> int:
    days = date_range(parse_date(args.start, "--start"), parse_date(args.end, "--end"))
    from extract.backfill import workers_setting

    from . import nightly

    try:
        workers = workers_setting(args.workers)
    except ValueError as exc:
        raise InvalidInput(f"--workers: {exc}") from None
    logging.getLogger("minhu.progress").setLevel(logging.INFO)  # one line a window off a terminal
    out = nightly.backfill(days, workers=workers)
    print(f"backfill: {out['windows']} windows, skipped {out['skipped']} already landed", file=sys.stderr)
    _print_json(out)
    return 0


def cmd_sources_serve(args) -> int:
    from simulators.faults import FaultPlan
    from simulators.server import serve_forever

    s = get_settings()
    faults = FaultPlan.parse(
        args.faults if args.faults is not None else __import__("os").environ.get("MINHU_SIM_FAULTS")
    )

    def ready(server):
        print(
            f"minhu simulators on http://127.0.0.1:{server.server_address[1]} (district {s.district})",
            flush=True,
        )

    serve_forever(port=args.port, faults=faults, ready=ready)
    return 0


def cmd_smtp_serve(args) -> int:
    import time

    from simulators import smtp_sink

    controller = smtp_sink.start(port=args.port)
    print(
        f"minhu SMTP sink on 127.0.0.1:{controller.port}, storing .eml in {get_settings().outbox_dir}",
        flush=True,
    )
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        controller.stop()
    return 0


def cmd_import(args) -> int:
    from pathlib import Path

    missing = [f for f in args.files if not Path(f).is_file()]
    if missing:
        raise InvalidInput(f"no such file: {', '.join(missing)} (nothing imported)")
    from . import imports

    results = imports.import_files(args.kind, args.files)
    for r in results:
        if args.format == "json":
            _print_json(r)
        elif "error" in r:
            print(f"minhu: {r['error']}", file=sys.stderr)
        elif "skipped" in r:
            print(f"{r['file']}: skipped, {r['skipped']}")
        else:
            print(
                f"{r['file']}: {r['rows']} rows, {r['loaded']} loaded, {r['superseded']} superseded, "
                f"{r['quarantined']} quarantined" + (f", {r['cases']} cases" if "cases" in r else "")
            )
    return 1 if any("error" in r for r in results) else 0


def cmd_indicators(args) -> int:
    from .indicators import check_scope, fetch

    period, scope = check_period(args.grain, args.period), check_scope(args.scope)
    rows = fetch(args.grain, period, scope)
    if not rows:
        print(f"minhu: no indicator rows for {args.grain} {period}, scope {scope}", file=sys.stderr)
    if args.format == "json":
        _print_json(rows)
    elif args.format == "csv":
        w = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]) if rows else ["indicator"])
        w.writeheader()
        w.writerows(rows)
    else:
        for r in rows:
            value = (
                "—"
                if r["value"] is None
                else (f"{r['value']:,.0f}" if r["indicator"] == "case_count" else f"{r['value'] * 100:.2f}%")
            )
            print(
                f"{r['scope']:<28} {r['indicator']:<28} {value:>10}  ({r['numerator']} / {r['denominator']})"
            )
    return 0


def cmd_check(args) -> int:
    """The quality gate on the published warehouse: exit 1 naming the failed expectations."""
    from . import nightly, quality

    try:
        result = nightly.check_published()
    except nightly.GateFailed as exc:
        print(exc.result.summary(), file=sys.stderr)
        print(f"data docs: {quality.paths()['index']}", file=sys.stderr)
        return 1
    print(result.summary())
    print(f"data docs: {quality.paths()['index']}")
    return 0


def cmd_serve(args) -> int:
    """Copy the published marts into the BI database (MINHU_SERVING_DSN) now."""
    from . import serve

    try:
        out = serve.serve(force=args.force)
        if args.test:
            out.update(serve.dbt_test())
        _print_json(out)
    except serve.ServingError as exc:
        print(f"minhu: {exc}", file=sys.stderr)
        return 1
    return 0


def cmd_report(args) -> int:
    period = check_period(REPORT_GRAIN[args.kind], args.period)
    from . import reporting

    out = reporting.report(args.kind, period, send=args.send, resend=args.resend)
    if args.format == "json" and args.kind == "selfeval":
        _print_json(out["scopes"])  # the contract: [{scope, budget, executed, rate, score}, ...]
    elif args.format == "json":
        _print_json(out)
    else:
        print(json.dumps(out, ensure_ascii=False, indent=2, default=str))
    return 0


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (exit 2), like every other expected failure."""

    def error(self, message: str):
        where = self.prog.removeprefix("minhu").strip()
        raise InvalidInput(f"{where + ': ' if where else ''}{message} (see `{self.prog} --help`)")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="minhu", description="minhu (民呼) warehouse")
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("run", help="the nightly pipeline for one business date")
    r.add_argument("--date", required=True)
    r.add_argument("--no-report", action="store_true", help="build and publish, send no 日报")
    r.set_defaults(func=cmd_run)

    b = sub.add_parser("backfill", help="the nightly pipeline over a range of business dates (no reports)")
    b.add_argument("--start", required=True)
    b.add_argument("--end", required=True)
    b.add_argument(
        "--workers",
        type=int,
        default=None,
        help="windows landed at once (default MINHU_BACKFILL_WORKERS, else 4)",
    )
    b.set_defaults(func=cmd_backfill)

    src = sub.add_parser("sources", help="the upstream simulators")
    src_sub = src.add_subparsers(dest="action", required=True)
    serve = src_sub.add_parser("serve", help="serve the case and finance APIs in the foreground")
    serve.add_argument("--port", type=int, default=None)
    serve.add_argument("--faults", default=None, help='fault plan, e.g. "429:0.1,503:0.05,reset:0.02,seed:7"')
    serve.set_defaults(func=cmd_sources_serve)

    smtp = sub.add_parser("smtp", help="the local SMTP sink")
    smtp_sub = smtp.add_subparsers(dest="action", required=True)
    sserve = smtp_sub.add_parser("serve", help="store every message as .eml under $MINHU_HOME/outbox")
    sserve.add_argument("--port", type=int, default=None)
    sserve.set_defaults(func=cmd_smtp_serve)

    imp = sub.add_parser("import", help="land archive files and rebuild the warehouse")
    imp.add_argument("kind", choices=["cases", "budget-lines", "payments", "published-budget"])
    imp.add_argument("files", nargs="+")
    imp.add_argument("--format", choices=["table", "json"], default="table")
    imp.set_defaults(func=cmd_import)

    ind = sub.add_parser("indicators", help="indicator figures from the published warehouse")
    ind.add_argument("--grain", required=True, choices=["day", "week", "month", "year"])
    ind.add_argument("--period", required=True)
    ind.add_argument("--scope", default="all")
    ind.add_argument("--format", choices=["table", "json", "csv"], default="table")
    ind.set_defaults(func=cmd_indicators)

    chk = sub.add_parser("check", help="run the quality gate on the published warehouse")
    chk.set_defaults(func=cmd_check)

    srv = sub.add_parser("serve", help="copy the published marts into PostgreSQL for BI (MINHU_SERVING_DSN)")
    srv.add_argument("--force", action="store_true", help="serve again even if this version is served")
    srv.add_argument("--test", action="store_true", help="then run the marts' dbt data tests on the copy")
    srv.set_defaults(func=cmd_serve)

    rep = sub.add_parser("report", help="render (and with --send, email) a report")
    rep.add_argument("kind", choices=["daily", "weekly", "monthly", "selfeval"])
    rep.add_argument("--period", required=True)
    rep.add_argument("--send", action="store_true")
    rep.add_argument("--resend", action="store_true")
    rep.add_argument("--format", choices=["text", "json"], default="text")
    rep.set_defaults(func=cmd_report)
    return p


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("extract.progress").setLevel(logging.INFO)  # import progress off a terminal
    try:
        args = build_parser().parse_args(argv)
        return args.func(args)
    except Exception as exc:  # expected failures: one line and their exit code; bugs keep their traceback
        failure = expected_failure(exc)
        if failure is None:
            raise
        print(f"minhu: {failure.message}", file=sys.stderr)
        return failure.exit_code
    except KeyboardInterrupt:
        print("minhu: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
