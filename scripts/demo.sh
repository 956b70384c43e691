#!/usr/bin/env bash
# make demo: a newcomer's first look at minhu, on loopback only.
#  1. start the simulators (case platform, finance system) and the SMTP sink;
#  2. backfill the month before the demo date (`minhu backfill`: one build, one gate, no reports),
#     so the 日报 has a previous day and a previous same weekday to compare with (环比);
#  3. run the nightly DAG for the demo date (`airflow dags test nightly`): it sends the 日报;
#  4. send the 周报 of the week before, the 月报 of the month before and the 绩效自评表 of the
#     fiscal year, each as HTML + XLSX + PDF;
#  5. print where each report and each sent email is.
# The default demo date is a Monday on the 1st (2024-04-01): the ISO week and the calendar month
# before it are complete. Reports are sent once: a second `make demo` sends nothing new.
# DEMO_DATE may be another 1st of a month (the script refuses other dates, saying why).
set -euo pipefail
cd "$(dirname "$0")/.."
export MINHU_HOME="${MINHU_HOME:-$PWD/var}"
DATE="${DEMO_DATE:-2024-04-01}"
mkdir -p "$MINHU_HOME/logs"
export MINHU_SOURCE_URL="http://127.0.0.1:${MINHU_SOURCE_PORT:-8765}"
minhu=.venv/bin/minhu
log="$MINHU_HOME/logs"
t0=$SECONDS

# The periods around the demo date (Asia/Shanghai business dates; plain calendar arithmetic).
read -r START END WEEK MONTH YEAR < <(.venv/bin/python - "$DATE" <<'PY'
import sys
from datetime import date, timedelta
d = date.fromisoformat(sys.argv[1])
if d.day != 1:
    sys.exit(f"demo: DEMO_DATE {d} is not the 1st of a month; the demo backfills the month before it"
             " and sends that month's 月报 (e.g. DEMO_DATE=2024-04-01)")
end = d - timedelta(days=1)  # the last day of the month before
start = end.replace(day=1)
monday = d - timedelta(days=d.weekday()) - timedelta(days=7)  # the last complete ISO week before d
year, week, _ = monday.isocalendar()
print(start, end, f"{year}-W{week:02d}", f"{end:%Y-%m}", end.year)  # 自评: the backfilled fiscal year
PY
)

$minhu sources serve >"$log/sources.log" 2>&1 &
src=$!
$minhu smtp serve >"$log/smtp.log" 2>&1 &
smtp=$!
trap 'kill $src $smtp ${airflow_setup:-} 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  grep -q "simulators on" "$log/sources.log" && grep -q "SMTP sink on" "$log/smtp.log" && break
  kill -0 $src 2>/dev/null && kill -0 $smtp 2>/dev/null || break
  sleep 0.2
done
if ! grep -q "simulators on" "$log/sources.log" || ! grep -q "SMTP sink on" "$log/smtp.log"; then
  tail -n 3 "$log/sources.log" "$log/smtp.log"
  echo "demo: the simulators or the SMTP sink did not start (is port ${MINHU_SOURCE_PORT:-8765} or ${MINHU_SMTP_PORT:-8025} in use?" \
       "set MINHU_SOURCE_PORT / MINHU_SMTP_PORT to free ones)" >&2
  exit 1
fi

step() {  # step LOGNAME DESCRIPTION COMMAND...: run, keep the output in a log, say where on failure
  local name=$1 what=$2
  shift 2
  echo "demo: $what ..."
  if ! "$@" >"$log/demo-$name.log" 2>&1; then
    tail -20 "$log/demo-$name.log"
    echo "demo: $what failed (log: $log/demo-$name.log)" >&2
    exit 1
  fi
}

mkdir -p "$MINHU_HOME/outbox"  # the sink makes it on its first message; count what is there before
before=$(find "$MINHU_HOME/outbox" -name "*.eml" | wc -l)

# Airflow's metadata database is set up (once per $MINHU_HOME) while the backfill runs.
bin/airflow-env true >"$log/demo-airflow-setup.log" 2>&1 &
airflow_setup=$!
step import "importing the published 2024 budget tables of unit 118001 (the gate checks them)" \
  $minhu import published-budget tests/data/published_budget_118001_2024.csv
step backfill "backfilling $START … $END (minhu backfill; no reports)" \
  $minhu backfill --start "$START" --end "$END"
wait $airflow_setup || { tail -20 "$log/demo-airflow-setup.log"; echo "demo: setting up Airflow failed (log: $log/demo-airflow-setup.log)" >&2; exit 1; }
step nightly "running the nightly DAG for business date $DATE (airflow dags test; sends the 日报)" \
  bin/airflow-env airflow dags test nightly -c "{\"business_date\": \"$DATE\"}"

# The three period reports read the published warehouse (read-only) and are independent: in parallel.
echo "demo: sending the 周报 of $WEEK, the 月报 of $MONTH and the 绩效自评表 of $YEAR ..."
kinds=(weekly monthly selfeval)
periods=("$WEEK" "$MONTH" "$YEAR")
pids=()
for i in 0 1 2; do
  $minhu report "${kinds[$i]}" --period "${periods[$i]}" --send >"$log/demo-${kinds[$i]}.log" 2>&1 &
  pids+=($!)
done
failed=0
for i in 0 1 2; do
  if ! wait "${pids[$i]}"; then
    tail -20 "$log/demo-${kinds[$i]}.log"
    echo "demo: the ${kinds[$i]} report failed (log: $log/demo-${kinds[$i]}.log)" >&2
    failed=1
  fi
done
[ $failed = 0 ] || exit 1

echo
echo "demo: done in $((SECONDS - t0)) s."
echo "  warehouse:   $MINHU_HOME/warehouse.duckdb"
echo "  quality:     $MINHU_HOME/reports/quality/index.html"
.venv/bin/python - "$MINHU_HOME" "$DATE" "$WEEK" "$MONTH" "$YEAR" "$before" <<'PY'
import email, email.policy, sys
from pathlib import Path

home, day, week, month, year, before = sys.argv[1:]
y, w = week.split("-W")
reports = [  # (name, archive folder, how the subject names the period)
    ("日报", f"reports/daily/{day}", "日报 {}年{}月{}日".format(*map(int, day.split("-")))),
    ("周报", f"reports/weekly/{week}", f"周报 {y}年第{int(w)}周"),
    ("月报", f"reports/monthly/{month}", "月报 {}年{}月".format(*map(int, month.split("-")))),
    ("绩效自评表", f"reports/selfeval/{year}", f"{year}年度"),
]
sent = []
for path in sorted(Path(home, "outbox").glob("*.eml")):
    msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    sent.append((path, str(msg["Subject"])))
missing = []
for name, folder, needle in reports:
    archive = Path(home, folder)
    files = sorted(p.name for p in archive.glob("*") if p.suffix in (".html", ".xlsx", ".pdf"))
    mails = [(p, s) for p, s in sent if name in s and needle.split(" ", 1)[-1] in s]
    print(f"  {name}:")
    print(f"    files:     {archive}/ ({', '.join(files) or 'none'})")
    if mails:
        print(f"    email:     {mails[-1][0]}")
        print(f"    subject:   {mails[-1][1]}")
    else:
        missing.append(name)
    if not {".html", ".xlsx", ".pdf"} <= {Path(f).suffix for f in files}:
        missing.append(f"{name} files")
print(f"  outbox:      {len(sent)} messages in {home}/outbox, {len(sent) - int(before)} sent by this run"
      " (reports are sent once: a second `make demo` sends none)")
if missing:
    sys.exit("demo: missing in the outbox or archive: " + ", ".join(missing))
PY
echo "  figures:     MINHU_HOME=$MINHU_HOME .venv/bin/minhu indicators --grain day --period $DATE"
if [ -n "${MINHU_SERVING_DSN:-}" ]; then
  echo "  BI copy:     PostgreSQL schema marts (MINHU_SERVING_DSN), refreshed after each publish"
else
  echo "  BI copy:     off (MINHU_SERVING_DSN unset); to try it: createdb -h 127.0.0.1 -U postgres minhu &&" \
       "MINHU_HOME=$MINHU_HOME MINHU_SERVING_DSN=postgresql://postgres@127.0.0.1:5432/minhu .venv/bin/minhu serve"
fi
