# minhu — the two commands of a fresh machine are `make demo` and `make test`.
SHELL := /bin/bash
export MINHU_HOME ?= $(CURDIR)/var
# pytest-xdist workers of `make test` (a module stays on one worker): one per core by default
TEST_WORKERS ?= auto

.PHONY: setup demo test test-fast test-unit test-dbt test-e2e lint bench clean airflow airflow-down airflow-status

setup:            ## Debian packages + locked .venv + editable install
	@scripts/setup.sh

demo: setup       ## backfill a month, run the nightly DAG, send 日报/周报/月报/绩效自评表, say where each is
	@scripts/demo.sh

test: setup       ## everything: unit, dbt, end to end (gate, reports, serving), Airflow, faults, Celery
	@.venv/bin/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile

# Tiers (pytest markers, pyproject.toml; every test has one): unit, dbt_unit, dbt, e2e, airflow, fault, celery.
test-fast: setup  ## unit tests and the dbt project's unit tests (no warehouse build)
	@.venv/bin/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile -m "unit or dbt_unit"

test-unit: setup  ## unit tests only
	@.venv/bin/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile -m unit

test-dbt: setup   ## dbt: the yml unit tests and the marts built on hand-loaded warehouses
	@.venv/bin/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile -m "dbt or dbt_unit"

test-e2e: setup   ## end to end: the pipeline, reports, serving, Airflow, the fault suite, Celery
	@.venv/bin/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile -m "(e2e or airflow or fault or celery) and not unit and not dbt_unit"

lint: setup       ## ruff (Python) and sqlfluff (dbt SQL)
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	mkdir -p $(MINHU_HOME)
	cd dbt_project && MINHU_WAREHOUSE_PATH=$(MINHU_HOME)/lint.duckdb DBT_TARGET_PATH=$(MINHU_HOME)/dbt/lint-target \
	  ../.venv/bin/sqlfluff lint models

bench: setup      ## benchmarks: print figures
	.venv/bin/python -m bench

airflow: setup    ## Airflow for real: api-server, scheduler, dag-processor, triggerer (LocalExecutor); prints UI + login
	@scripts/airflow.sh up

airflow-down:     ## stop exactly the processes `make airflow` started (pid files under $(MINHU_HOME)/run/airflow)
	@scripts/airflow.sh down

airflow-status:   ## which Airflow components of `make airflow` run
	@scripts/airflow.sh status

clean:
	rm -rf var dbt_project/target dbt_project/logs
