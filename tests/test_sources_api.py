"""The simulators honour the contract of sources.md: auth, windows, ordering, cursors, /count."""

from __future__ import annotations

from datetime import date

import pytest
import requests

from minhu.settings import DEFAULT_TOKEN
from simulators import case_data

pytestmark = pytest.mark.unit

AUTH = {"Authorization": f"Bearer {DEFAULT_TOKEN}"}
WINDOW = {"updated_since": "2024-03-01T00:00:00+08:00", "updated_until": "2024-03-02T00:00:00+08:00"}


def test_wrong_or_missing_token_is_401(sources_url):
    assert requests.get(f"{sources_url}/api/v1/cases", params=WINDOW).status_code == 401
    bad = {"Authorization": "Bearer nope"}
    assert requests.get(f"{sources_url}/api/v1/cases/count", params=WINDOW, headers=bad).status_code == 401


def test_pages_cover_the_window_once_in_order(sources_url):
    expected = case_data.case_versions("硚口区", date(2024, 3, 1))
    got, cursor, pages = [], None, 0
    while True:
        params = {**WINDOW, "limit": 500, **({"cursor": cursor} if cursor else {})}
        body = requests.get(f"{sources_url}/api/v1/cases", params=params, headers=AUTH).json()
        assert body["total"] == len(expected)
        got += body["data"]
        pages += 1
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert pages == -(-len(expected) // 500)
    keys = [(r["updated_at"], r["case_id"]) for r in got]
    assert keys == sorted(keys) and len(set(keys)) == len(keys) == len(expected)
    assert all(WINDOW["updated_since"] <= r["updated_at"] < WINDOW["updated_until"] for r in got)
    count = requests.get(f"{sources_url}/api/v1/cases/count", params=WINDOW, headers=AUTH).json()
    assert count == {"total": len(expected)}


def test_window_is_half_open(sources_url):
    rec = case_data.case_versions("硚口区", date(2024, 3, 1))[0]
    params = {"updated_since": rec["updated_at"], "updated_until": rec["updated_at"]}
    assert requests.get(f"{sources_url}/api/v1/cases/count", params=params, headers=AUTH).json()["total"] == 0


def test_limit_over_5000_is_rejected(sources_url):
    r = requests.get(f"{sources_url}/api/v1/cases", params={**WINDOW, "limit": 5001}, headers=AUTH)
    assert r.status_code == 400 and "limit" in r.json()["error"]


def test_budget_lines_need_a_fiscal_year_and_payments_serve(sources_url):
    year = {"updated_since": "2024-01-01T00:00:00+08:00", "updated_until": "2025-01-01T00:00:00+08:00"}
    assert requests.get(f"{sources_url}/api/v1/budget/lines", params=year, headers=AUTH).status_code == 400
    lines = requests.get(
        f"{sources_url}/api/v1/budget/lines",
        params={**year, "fiscal_year": 2024, "limit": 5000},
        headers=AUTH,
    ).json()
    assert lines["total"] == len(lines["data"]) > 0
    assert all(isinstance(r["initial_amount"], str) for r in lines["data"])
    pays = requests.get(f"{sources_url}/api/v1/budget/payments/count", params=year, headers=AUTH).json()
    assert pays["total"] > 100
