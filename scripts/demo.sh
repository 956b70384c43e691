#!/usr/bin/env bash
# make demo: set up, start the simulators and the SMTP sink on loopback, run the nightly DAG
# for one business date with `airflow dags test`, and say where the reports are.
set -euo pipefail
cd "$(dirname "$0")/.."
export MINHU_HOME="${MINHU_HOME:-$PWD/var}"
DATE="${DEMO_DATE:-2024-03-01}"
mkdir -p "$MINHU_HOME/logs"

.venv/bin/minhu sources serve >"$MINHU_HOME/logs/sources.log" 2>&1 &
src=$!
.venv/bin/minhu smtp serve >"$MINHU_HOME/logs/smtp.log" 2>&1 &
smtp=$!
trap 'kill $src $smtp 2>/dev/null || true' EXIT
for _ in $(seq 50); do
  grep -q "simulators on" "$MINHU_HOME/logs/sources.log" && grep -q "SMTP sink on" "$MINHU_HOME/logs/smtp.log" && break
  sleep 0.2
done

echo "demo: running the nightly DAG for business date $DATE (airflow dags test) ..."
bin/airflow-env airflow dags test nightly -c "{\"business_date\": \"$DATE\"}" >"$MINHU_HOME/logs/demo-dags-test.log" 2>&1 || {
  tail -40 "$MINHU_HOME/logs/demo-dags-test.log"; echo "demo: the DAG run failed (log: $MINHU_HOME/logs/demo-dags-test.log)"; exit 1; }
grep -q "state=success\|DagRunState.SUCCESS\|success" "$MINHU_HOME/logs/demo-dags-test.log" || true

eml=$(grep -l "日报" "$MINHU_HOME"/outbox/*.eml 2>/dev/null | tail -1 || true)
[ -z "$eml" ] && eml=$(ls -t "$MINHU_HOME"/outbox/*.eml | head -1)
echo
echo "demo: done."
echo "  warehouse:   $MINHU_HOME/warehouse.duckdb"
echo "  reports:     $MINHU_HOME/reports/daily/$DATE/"
echo "  sent email:  $eml"
.venv/bin/python - "$eml" <<'PY'
import email, sys
from email.header import decode_header, make_header
msg = email.message_from_binary_file(open(sys.argv[1], "rb"))
print("  subject:    ", str(make_header(decode_header(msg["Subject"]))))
PY
echo "  figures:     .venv/bin/minhu indicators --grain day --period $DATE"
