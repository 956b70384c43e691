#!/usr/bin/env bash
# make airflow / make airflow-down: a real Airflow on this machine, under $MINHU_HOME.
#
#   scripts/airflow.sh up      api-server, scheduler, dag-processor, triggerer (LocalExecutor,
#                              SQLite metadata under $MINHU_HOME/airflow); prints the UI and login
#   scripts/airflow.sh down    stops exactly the processes `up` started (pid files, process groups)
#   scripts/airflow.sh status  which of them run
#
# Each component runs in its own session (setsid), so its pid is its process-group id and `down`
# ends the component with everything it forked (gunicorn/uvicorn workers, task supervisors), and
# nothing else. Settings (environment): MINHU_AIRFLOW_PORT (api-server, default 8080),
# MINHU_AIRFLOW_COMPONENTS (default "api-server scheduler dag-processor triggerer"; with the
# CeleryExecutor add "celery-worker"; MINHU_CELERY_QUEUES names its queue), MINHU_AIRFLOW_WAIT (seconds to wait for health, default 180).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export MINHU_HOME="${MINHU_HOME:-$root/var}"
export MINHU_AIRFLOW_PORT="${MINHU_AIRFLOW_PORT:-8080}"
run_dir="$MINHU_HOME/run/airflow"
log_dir="$MINHU_HOME/logs"
components="${MINHU_AIRFLOW_COMPONENTS:-api-server scheduler dag-processor triggerer}"
all_known="api-server scheduler dag-processor triggerer celery-worker"

command_of() {
  case "$1" in
    api-server) echo "airflow api-server --port $MINHU_AIRFLOW_PORT --host 127.0.0.1" ;;
    scheduler) echo "airflow scheduler" ;;
    dag-processor) echo "airflow dag-processor" ;;
    triggerer) echo "airflow triggerer" ;;
    celery-worker) echo "airflow celery worker --concurrency ${MINHU_CELERY_CONCURRENCY:-2}${MINHU_CELERY_QUEUES:+ --queues $MINHU_CELERY_QUEUES --celery-hostname $MINHU_CELERY_QUEUES@%h}" ;;
    *) echo "airflow: unknown component '$1' (known: $all_known)" >&2; return 1 ;;
  esac
}

# A pid file holds "<pid> <start time>" (field 22 of /proc/<pid>/stat): it names a live process
# group of ours only while a process with that pid AND that start time runs (a recycled pid is
# somebody else's: leave it alone). Airflow rewrites its process titles (and with them the
# environment block in /proc), so neither cmdline nor environ can tell.
start_time() {
  local stat
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  stat="${stat##*) }"  # the fields after the command name (which may hold spaces)
  awk '{print $20}' <<<"$stat"
}

running_pid() {
  local f="$run_dir/$1.pid" pid started
  [ -f "$f" ] || return 1
  read -r pid started <"$f" || true
  [[ "$pid" =~ ^[0-9]+$ ]] && [ -n "${started:-}" ] && [ "$(start_time "$pid")" = "$started" ] && echo "$pid"
}

stop_one() {
  local name="$1" pid
  if pid="$(running_pid "$name")"; then
    kill -TERM -- "-$pid" 2>/dev/null || true
    for _ in $(seq 100); do
      kill -0 -- "-$pid" 2>/dev/null || break
      sleep 0.2
    done
    if kill -0 -- "-$pid" 2>/dev/null; then
      kill -KILL -- "-$pid" 2>/dev/null || true
      echo "airflow: $name (process group $pid) did not stop on TERM in 20 s; killed"
    else
      echo "airflow: stopped $name (process group $pid)"
    fi
  fi
  rm -f "$run_dir/$name.pid"
}

down() {
  local name
  # the reverse of the start order: no scheduler hands work to a stopped api-server
  for name in celery-worker triggerer dag-processor scheduler api-server; do
    stop_one "$name"
  done
}

status() {
  local name pid rc=0
  for name in $all_known; do
    if pid="$(running_pid "$name")"; then echo "$name: running (process group $pid)"
    elif [ -f "$run_dir/$name.pid" ]; then echo "$name: not running (stale pid file)"; rc=1
    fi
  done
  return $rc
}

port_free() {
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

up() {
  local t0 name pid cmd
  t0=$(date +%s%N)
  mkdir -p "$run_dir" "$log_dir" "$MINHU_HOME/airflow"
  for name in $components; do
    command_of "$name" >/dev/null
    if pid="$(running_pid "$name")"; then
      echo "airflow: $name already runs (process group $pid); 'make airflow-down' first" >&2
      exit 1
    fi
  done
  if [[ " $components " == *" api-server "* ]] && ! port_free "$MINHU_AIRFLOW_PORT"; then
    echo "airflow: port $MINHU_AIRFLOW_PORT is in use; set MINHU_AIRFLOW_PORT to a free port" >&2
    exit 1
  fi
  # A known password for the simple auth manager's user (it keeps users it finds in the file).
  local pwfile="$MINHU_HOME/airflow/simple_auth_manager_passwords.json"
  if [ ! -s "$pwfile" ]; then
    (umask 077 && "$root/.venv/bin/python" -c \
      'import json, secrets, sys; print(json.dumps({"admin": secrets.token_urlsafe(12)}))' >"$pwfile")
  fi
  # migrate once, before any component starts (bin/airflow-env does it on first use)
  "$root/bin/airflow-env" true
  trap 'echo "airflow: start failed; stopping what started" >&2; down >&2' ERR
  # The api-server first, and healthy, before anything that runs tasks: a task's supervisor
  # reaches the execution API there, and a task started before it answers fails its try.
  local ordered="" wait_s="${MINHU_AIRFLOW_WAIT:-180}" deadline
  [[ " $components " == *" api-server "* ]] && ordered="api-server"
  for name in $components; do [ "$name" = api-server ] || ordered="$ordered $name"; done
  for name in $ordered; do
    cmd="$(command_of "$name")"
    # setsid: the component leads its own process group; its pid is the group id
    setsid "$root/bin/airflow-env" $cmd >"$log_dir/airflow-$name.log" 2>&1 </dev/null &
    pid=$!
    echo "$pid $(start_time "$pid")" >"$run_dir/$name.pid"
    [ "$name" = api-server ] || continue
    deadline=$(( $(date +%s) + wait_s ))
    until curl -fsS -o /dev/null "http://127.0.0.1:$MINHU_AIRFLOW_PORT/api/v2/monitor/health" 2>/dev/null; do
      if ! running_pid api-server >/dev/null; then
        echo "airflow: the api-server exited during start; last lines of $log_dir/airflow-api-server.log:" >&2
        tail -15 "$log_dir/airflow-api-server.log" >&2
        false
      fi
      if [ "$(date +%s)" -ge "$deadline" ]; then
        echo "airflow: the api-server did not answer on port $MINHU_AIRFLOW_PORT in ${wait_s} s (log: $log_dir/airflow-api-server.log)" >&2
        false
      fi
      sleep 0.5
    done
  done
  # the others must still run a moment later (a bad config makes them exit at once)
  sleep 3
  for name in $components; do
    if ! running_pid "$name" >/dev/null; then
      echo "airflow: $name exited during start; last lines of $log_dir/airflow-$name.log:" >&2
      tail -15 "$log_dir/airflow-$name.log" >&2
      false
    fi
  done
  trap - ERR
  local user password
  user="${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS:-admin:admin}"
  user="${user%%:*}"
  password="$("$root/.venv/bin/python" -c 'import json, sys; print(json.load(open(sys.argv[1])).get(sys.argv[2], "?"))' "$pwfile" "$user")"
  local ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  printf 'airflow: up in %d.%01d s: %s (%s)\n' $((ms / 1000)) $((ms % 1000 / 100)) "$components" "$MINHU_HOME"
  echo "  UI:       http://127.0.0.1:$MINHU_AIRFLOW_PORT/"
  echo "  login:    user $user, password $password (simple auth manager; $pwfile)"
  echo "  logs:     $log_dir/airflow-*.log; stop with: make airflow-down"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  *) echo "usage: scripts/airflow.sh up|down|status" >&2; exit 2 ;;
esac
