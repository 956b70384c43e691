# The minhu image for production (docker-compose.yml): Airflow 3.3 + dbt + GX + the project.
FROM python:3.11-slim-bookworm
ENV DEBIAN_FRONTEND=noninteractive PIP_NO_CACHE_DIR=1 PYTHONUNBUFFERED=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends fonts-noto-cjk chromium poppler-utils tzdata \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/minhu
COPY requirements.lock pyproject.toml ./
RUN pip install uv==0.13.8 && uv pip install --system -r requirements.lock
COPY . .
RUN uv pip install --system --no-deps -e .
ENV MINHU_HOME=/data/minhu AIRFLOW_HOME=/data/minhu/airflow AIRFLOW__CORE__DAGS_FOLDER=/opt/minhu/dags
