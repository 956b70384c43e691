#!/usr/bin/env bash
# make demo: set up, start the simulators and the SMTP sink on loopback, run the nightly DAG
# for one business date with `airflow dags test`, and say where the reports are.
set -euo pipefail
cd "$(dirname "$0")/.."
export MINHU_HOME="${MINHU_HOME:-$PWD/var}"
DATE="${DEMO_DATE:-2024-03-01}"
mkdir -p "$MINHU_HOME/logs"
export MINHU_SOURCE_URL="http://127.0.0.1:${MINHU_SOURCE_PORT:-8765}"

.venv/bin/minhu sources serve >"$MINHU_HOME/logs/sources.log" 2>&1 &
src=$!
.venv/bin/minhu smtp serve >"$MINHU_HOME/logs/smtp.log" 2>&1 &
smtp=$!
trap 'kill $src $smtp 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  grep -q "simulators on" "$MINHU_HOME/logs/sources.log" && grep -q "SMTP sink on" "$MINHU_HOME/logs/smtp.log" && break
  kill -0 $src 2>/dev/null && kill -0 $smtp 2>/dev/null || break
  sleep 0.2
done
if ! grep -q "simulators on" "$MINHU_HOME/logs/sources.log" || ! grep -q "SMTP sink on" "$MINHU_HOME/logs/smtp.log"; then
  tail -3 "$MINHU_HOME/logs/sources.log" "$MINHU_HOME/logs/smtp.log"
  echo "demo: the simulators or the SMTP sink did not start (is port ${MINHU_SOURCE_PORT:-8765} or ${MINHU_SMTP_PORT:-8025} in use?" \
       "set MINHU_SOURCE_PORT / MINHU_SMTP_PORT to free ones)" >&2
  exit 1
fi

echo "demo: importing the published 2024 budget tables of unit 118001 (the gate checks them) ..."
.venv/bin/minhu import published-budget tests/data/published_budget_118001_2024.csv >"$MINHU_HOME/logs/demo-import.log" 2>&1 || {
  tail -20 "$MINHU_HOME/logs/demo-import.log"; echo "demo: the import failed (log: $MINHU_HOME/logs/demo-import.log)"; exit 1; }

echo "demo: running the nightly DAG for business date $DATE (airflow dags test) ..."
bin/airflow-env airflow dags test nightly -c "{\"business_date\": \"$DATE\"}" >"$MINHU_HOME/logs/demo-dags-test.log" 2>&1 || {
  tail -40 "$MINHU_HOME/logs/demo-dags-test.log"; echo "demo: the DAG run failed (log: $MINHU_HOME/logs/demo-dags-test.log)"; exit 1; }
grep -q "state=success\|DagRunState.SUCCESS\|success" "$MINHU_HOME/logs/demo-dags-test.log" || true

echo
echo "demo: done."
echo "  warehouse:   $MINHU_HOME/warehouse.duckdb"
echo "  reports:     $MINHU_HOME/reports/daily/$DATE/ (HTML, XLSX, PDF, the sent message)"
echo "  quality:     $MINHU_HOME/reports/quality/index.html"
.venv/bin/python - "$MINHU_HOME/outbox" <<'PY'
import email, email.policy, sys
from pathlib import Path
found = []
for path in sorted(Path(sys.argv[1]).glob("*.eml")):
    msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    if "日报" in str(msg["Subject"]):
        found.append((path, str(msg["Subject"])))
if not found:
    sys.exit("demo: no 日报 in the outbox " + sys.argv[1])
path, subject = found[-1]
print(f"  sent email:  {path}")
print(f"  subject:     {subject}")
PY
echo "  figures:     MINHU_HOME=$MINHU_HOME .venv/bin/minhu indicators --grain day --period $DATE"
