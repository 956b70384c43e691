"""The district is configuration: MINHU_DISTRICT (any of Wuhan's 13) and the centre's names.

End to end with MINHU_DISTRICT=江汉区: the case simulator serves its 江汉区 profile, the 日报's
subject, HTML title and heading name 江汉区's centre, the mail goes to 江汉区's recipients in
config/recipients.toml, and the 绩效自评 header names the centre. The expected strings are
written out here, not derived from the code. An unknown district is one line on the CLI.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date

import pytest
from conftest import home_env, read_eml, subject_of

from minhu import districts
from minhu.settings import get_settings
from reports import recipients as rcpt

pytestmark = pytest.mark.e2e

WUHAN = "江岸区 江汉区 硚口区 汉阳区 武昌区 青山区 洪山区 东西湖区 汉南区 蔡甸区 江夏区 黄陂区 新洲区".split()
DAY = date(2024, 3, 1)


def test_every_district_of_wuhan_is_known_with_its_default_names(monkeypatch):
    assert sorted(districts.WUHAN) == sorted(WUHAN)
    assert (
        len({d.code for d in districts.WUHAN.values()})
        == len({d.key for d in districts.WUHAN.values()})
        == 13
    )
    for name in WUHAN:
        monkeypatch.setenv("MINHU_DISTRICT", name)
        s = get_settings()
        assert (s.district, s.centre_name, s.centre_short) == (
            name,
            f"{name}社会管理网格化服务中心",
            f"{name}网格中心",
        )
        assert s.mail_from.endswith("-grid.local")
        for kind in ("daily", "weekly", "monthly", "selfeval"):  # every district has its own lists
            to = rcpt.pick(_config(), "reports", kind)
            assert to and all(f"{districts.WUHAN[name].key}-grid." in a for a in to)
    monkeypatch.setenv("MINHU_DISTRICT", " 新洲区 ")
    assert get_settings().district == "新洲区"


def test_centre_names_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("MINHU_DISTRICT", "洪山区")
    monkeypatch.setenv("MINHU_CENTRE_NAME", "洪山区社会治理网格化服务中心")
    monkeypatch.setenv("MINHU_CENTRE_SHORT", "洪山网格")
    from reports import common, selfeval

    assert common.subject("日报", "2024年3月1日") == "【洪山网格】群众诉求日报 2024年3月1日"
    assert selfeval.subject(2024) == "【洪山网格】年度绩效自评表 2024年度"
    assert get_settings().centre_name == "洪山区社会治理网格化服务中心"


def test_an_unknown_district_is_an_error(monkeypatch):
    for bad in ("江汉", "朝阳区", "Jianghan"):
        monkeypatch.setenv("MINHU_DISTRICT", bad)
        with pytest.raises(districts.UnknownDistrict, match="is not a district of Wuhan"):
            get_settings()
    monkeypatch.setenv("MINHU_DISTRICT", "江汉")
    with pytest.raises(ValueError, match="did you mean 江汉区"):
        get_settings()


def test_a_bad_duckdb_memory_size_is_one_line_on_the_cli(tmp_path, monkeypatch):
    for good in ("512MB", "2GB", "1.5GiB", "900 mb"):
        monkeypatch.setenv("MINHU_DUCKDB_MEMORY", good)
        assert get_settings().duckdb_memory == good
    env = {"PATH": "/usr/bin:/bin", "MINHU_HOME": str(tmp_path / "home"), "MINHU_DUCKDB_MEMORY": "lots"}
    proc = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "indicators", "--grain", "day", "--period", "2024-03-01"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        "minhu: MINHU_DUCKDB_MEMORY='lots' is not a memory size: give a number and a unit, e.g. 512MB or 2GB"
    ]


def test_an_unknown_district_is_one_line_on_the_cli(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "MINHU_HOME": str(tmp_path / "home"), "MINHU_DISTRICT": "朝阳区"}
    proc = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "report", "daily", "--period", "2024-03-01"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 1, proc
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert lines[0].startswith("minhu: MINHU_DISTRICT='朝阳区' is not a district of Wuhan"), lines
    assert "江汉区" in lines[0]


def _config() -> dict:
    import tomllib

    return tomllib.loads((get_settings().config_dir / "recipients.toml").read_text(encoding="utf-8"))


def test_missing_recipients_are_a_clear_error_and_reports_have_no_default(monkeypatch):
    monkeypatch.setenv("MINHU_DISTRICT", "江夏区")
    config = {
        "alerts": {"data_engineers": ["de@example.local"]},
        "reports": {"daily": ["someone-else@example.local"]},  # not a default for reports
        "districts": {"江夏区": {"reports": {"weekly": ["w@jiangxia.local"]}}},
    }
    assert rcpt.pick(config, "reports", "weekly") == ["w@jiangxia.local"]
    assert rcpt.pick(config, "alerts", "data_engineers") == ["de@example.local"]
    with pytest.raises(ValueError) as err:
        rcpt.pick(config, "reports", "daily")
    assert "recipients.toml: no recipients for reports.daily of 江夏区" in str(err.value)
    assert '[districts."江夏区".reports]' in str(err.value) and "\n" not in str(err.value)


@pytest.fixture(scope="module")
def jianghan(tmp_path_factory, sources_url, smtp_port):
    """One nightly run for 2024-03-01 with MINHU_DISTRICT=江汉区 and its centre name."""
    from pipeline import nightly

    home = tmp_path_factory.mktemp("jianghan_run") / "home"
    with home_env(home, sources_url, smtp_port) as mp:
        mp.setenv("MINHU_DISTRICT", "江汉区")
        mp.setenv("MINHU_CENTRE_NAME", "江汉区社会管理网格化服务中心")
        mp.delenv("MINHU_CENTRE_SHORT", raising=False)
        mp.delenv("MINHU_MAIL_FROM", raising=False)
        out = nightly.run(DAY)
        yield home, out


def test_jianghan_daily_report_names_jianghan_and_goes_to_its_recipients(jianghan):
    home, out = jianghan
    landed = sorted((home / "raw" / "cases" / DAY.isoformat()).iterdir())[-1] / "records.jsonl"
    assert {json.loads(line)["district"] for line in landed.read_text(encoding="utf-8").splitlines()} == {
        "江汉区"
    }  # the simulator's 江汉区 profile
    emls = list((home / "outbox").glob("*.eml"))
    assert len(emls) == 1
    msg = read_eml(emls[0])
    assert subject_of(msg) == "【江汉区网格中心】群众诉求日报 2024年3月1日" == out["report"]["subject"]
    assert msg["To"] == "zhongxin-leaders@jianghan-grid.local, district-office@jianghan-grid.local"
    assert msg["From"] == "minhu@jianghan-grid.local"
    html = msg.get_body(("html",)).get_content()
    assert "<title>【江汉区网格中心】群众诉求日报 2024年3月1日</title>" in html
    assert '<p id="centre"' in html and "江汉区社会管理网格化服务中心</p>" in html
    assert "硚口" not in html
    archived = (home / "reports" / "daily" / DAY.isoformat() / "daily-2024-03-01.html").read_text(
        encoding="utf-8"
    )
    assert "江汉区社会管理网格化服务中心" in archived and "硚口" not in archived


def test_jianghan_selfeval_header_names_its_centre(jianghan, monkeypatch):
    import openpyxl

    from reports import selfeval

    home, _ = jianghan
    monkeypatch.setenv("MINHU_HOME", str(home))
    monkeypatch.setenv("MINHU_DISTRICT", "江汉区")
    monkeypatch.setenv("MINHU_CENTRE_NAME", "江汉区社会管理网格化服务中心")
    out = selfeval.run("2024")
    assert out["subject"] == "【江汉区网格中心】年度绩效自评表 2024年度"
    html = (home / "reports" / "selfeval" / "2024" / "selfeval-2024.html").read_text(encoding="utf-8")
    assert "<h2" in html and "江汉区社会管理网格化服务中心 2024年度绩效自评表</h2>" in html
    book = openpyxl.load_workbook(home / "reports" / "selfeval" / "2024" / "selfeval-2024.xlsx")
    assert book.worksheets[0]["A2"].value == "部门名称：江汉区社会管理网格化服务中心"
