#!/usr/bin/env bash
# Set up a fresh machine: Debian packages (CJK fonts and Chromium for the reports, poppler to look at
# PDFs, docker-compose 1.29 to validate docker-compose.yml offline),
# the locked virtualenv .venv, and the project in editable mode.
# Idempotent: a second run does only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
fc-list 2>/dev/null | grep -i "Noto Sans CJK" >/dev/null || need_apt+=(fonts-noto-cjk)  # not grep -q: with pipefail, fc-list would die of SIGPIPE
command -v chromium >/dev/null || need_apt+=(chromium)
command -v pdftoppm >/dev/null || need_apt+=(poppler-utils)
command -v docker-compose >/dev/null || need_apt+=(docker-compose)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "setup: installing Debian packages: ${need_apt[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  else
    echo "setup: please install the Debian packages: ${need_apt[*]}" >&2
    exit 1
  fi
fi

PY="${PYTHON:-python3.11}"
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
if [ ! -x .venv/bin/uv ]; then
  .venv/bin/pip install -q uv==0.13.8
fi
stamp=.venv/.minhu-lock-$(sha256sum requirements.lock pyproject.toml | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ]; then
  .venv/bin/uv pip install -q --python .venv/bin/python -r requirements.lock
  .venv/bin/uv pip install -q --python .venv/bin/python --no-deps -e .
  rm -f .venv/.minhu-lock-*
  touch "$stamp"
fi
echo "setup: .venv ready ($(.venv/bin/python --version), duckdb $(.venv/bin/python -c 'import duckdb; print(duckdb.__version__)'))"
