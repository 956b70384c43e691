"""Deterministic records of the finance system (预算执行系统): budget lines and payments.

The finance system of each district (the setting MINHU_DISTRICT, as for the case platform) is a
``Profile``: its grid centre's budget of a base year as data (data/budget_lines_<unit>_<year>.csv),
lines that exist only in some years (a code added, a subordinate unit), codes retired after a
year, and published department totals of earlier years.

- 硚口区 (dept 118): fiscal year 2024 of unit 118001 is the published department budget (its
  initial amounts, rounded to 万元, reproduce the seed's tables, and its July adjustment). 2022 and
  2023 carry the totals that budget's table 11 publishes for them (557.4 and 480.9 万元: 基本支出
  289.7 / 441.8, 项目支出 267.7 / 39.1); 2023 also has the subordinate unit 118002; from 2025 the
  centre pays 职业年金 (function 2080506, economic 30109) and no longer budgets 2080899 其他优抚支出.
- 江岸区 (dept 121, unit 121001): an administrative (参公) centre with its own codes (行政运行,
  行政单位医疗, a 212 城乡社区支出 project, 30227 委托业务费, 31007 …).
- 江汉区 (dept 119, unit 119001): a 事业单位 centre with three projects (the 119 centre of the
  selfeval tests), adjusted in July and, for its training project, in November.

Another fiscal year is the base year's lines moved to it and scaled by at most ±5% (or to the
published totals), with the base year's adjustments at the same dates. Payments are planned once
per district and year (cached) and sliced by business date. Amounts are handled in integer fen
(分) and emitted as yuan strings with two decimals.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from pathlib import Path

from minhu.calendar import is_working_day
from minhu.schemas import BUDGET_LINE_FIELDS, PAYMENT_FIELDS, SOURCES
from simulators import extra_lines

DATA_DIR = Path(__file__).with_name("data")
DEFAULT_DISTRICT = "硚口区"
LINE_ID = SOURCES["budget_lines"]["id"]
TZ = dt.timezone(dt.timedelta(hours=8))
CENT = Decimal("0.01")

# Official names of the classification codes in use, at every level (类/款/项 and 类/款).
FUNCTION_CLASSES = {
    "201": "一般公共服务支出",
    "20103": "政府办公厅（室）及相关机构事务",
    "2010350": "事业运行",
    "2010399": "其他政府办公厅（室）及相关机构事务支出",
    "2010301": "行政运行",
    "2010302": "一般行政管理事务",
    "208": "社会保障和就业支出",
    "20805": "行政事业单位养老支出",
    "2080505": "机关事业单位基本养老保险缴费支出",
    "2080501": "行政单位离退休",
    "2080506": "机关事业单位职业年金缴费支出",
    "20808": "抚恤",
    "2080899": "其他优抚支出",
    "210": "卫生健康支出",
    "21011": "行政事业单位医疗",
    "2101101": "行政单位医疗",
    "2101102": "事业单位医疗",
    "2101103": "公务员医疗补助",
    "2101199": "其他行政事业单位医疗支出",
    "221": "住房保障支出",
    "22102": "住房改革支出",
    "2210201": "住房公积金",
    "2210202": "提租补贴",
    "212": "城乡社区支出",
    "21201": "城乡社区管理事务",
    "2120199": "其他城乡社区管理事务支出",
}
ECONOMIC_CLASSES = {
    "301": "工资福利支出",
    "30101": "基本工资",
    "30102": "津贴补贴",
    "30103": "奖金",
    "30107": "绩效工资",
    "30108": "机关事业单位基本养老保险缴费",
    "30109": "职业年金缴费",
    "30110": "职工基本医疗保险缴费",
    "30111": "公务员医疗补助缴费",
    "30112": "其他社会保障缴费",
    "30113": "住房公积金",
    "30199": "其他工资福利支出",
    "302": "商品和服务支出",
    "30201": "办公费",
    "30202": "印刷费",
    "30205": "水费",
    "30206": "电费",
    "30207": "邮电费",
    "30211": "差旅费",
    "30213": "维修（护）费",
    "30216": "培训费",
    "30217": "公务接待费",
    "30226": "劳务费",
    "30227": "委托业务费",
    "30228": "工会经费",
    "30229": "福利费",
    "30239": "其他交通费用",
    "30299": "其他商品和服务支出",
    "303": "对个人和家庭的补助",
    "30302": "退休费",
    "30305": "生活补助",
    "310": "资本性支出",
    "31002": "办公设备购置",
    "31007": "信息网络及软件购置更新",
}
# "三公"经费 by economic code (table 7 of the published budget).
SANGONG = {
    "30212": "因公出国（境）费",
    "31013": "公务用车购置费",
    "30231": "公务用车运行费",
    "30217": "公务接待费",
}

_EXEC_RATE = {"人员经费": (0.975, 0.998), "公用经费": (0.93, 0.99), "项目支出": (0.94, 0.995)}
# Economic code -> (schedule, payee, summary); {m} is the month, {q} the quarter.
_PLAN = {
    "30101": ("salary", "工资统发专户", "{m}月基本工资"),
    "30102": ("salary", "工资统发专户", "{m}月津贴补贴"),
    "30103": ("bonus", "工资统发专户", "第{q}季度奖金"),
    "30107": ("salary", "工资统发专户", "{m}月绩效工资"),
    "30108": ("salary", "武汉市社会保险中心", "{m}月养老保险单位缴费"),
    "30109": ("salary", "武汉市社会保险中心", "{m}月职业年金单位缴费"),
    "30110": ("salary", "武汉市医疗保障局", "{m}月基本医疗保险单位缴费"),
    "30111": ("salary", "武汉市医疗保障局", "{m}月公务员医疗补助缴费"),
    "30112": ("salary", "武汉市社会保险中心", "{m}月失业工伤保险缴费"),
    "30113": ("salary", "武汉住房公积金管理中心", "{m}月住房公积金"),
    "30199": ("year_end", "工资统发专户", "其他工资福利清算"),
    "30305": ("salary", "@survivor", "{m}月遗属生活补助"),
    "30302": ("salary", "工资统发专户", "{m}月退休费"),
    "30205": ("utility", "武汉市水务集团有限公司", "{m}月水费"),
    "30206": ("utility", "国网武汉供电公司", "{m}月电费"),
    "30226": ("dispatch", "湖北众诚人力资源服务有限公司", "{m}月劳务派遣人员劳务费"),
    "30228": ("union", "本单位工会委员会", "拨缴工会经费"),
    "30229": ("welfare", "武汉中百仓储超市有限公司", "节日慰问品"),
    "30201": ("frequent", "@vendor", "购办公用品"),
    "30202": ("frequent", "武汉汉正印务有限公司", "印制宣传资料"),
    "30211": ("frequent", "@staff", "报销差旅费"),
    "30216": ("frequent", "@staff", "报销培训费"),
    "30217": ("frequent", "{district}机关食堂", "公务接待用餐"),
    "30207": ("utility", "中国电信股份有限公司武汉分公司", "{m}月通信费"),
    "30213": ("frequent", "@vendor", "办公设施维修"),
    "30227": ("dispatch", "武汉城市服务运营有限公司", "{m}月委托业务费"),
    "30239": ("salary", "工资统发专户", "{m}月公务交通补贴"),
    "31007": ("frequent", "武汉楚天网络科技有限公司", "信息系统及软件购置"),
    "30299": ("frequent", "@vendor", "其他商品和服务"),
    "31002": ("frequent", "武汉亿科办公设备有限公司", "购置办公设备"),
}
_FREQUENT_COUNT = {"30201": 12, "30202": 6, "30211": 10, "30216": 3, "30217": 3, "30299": 30, "31002": 2}
# Economic codes not planned above: by 类 (an unseen code is paid like its class).
_CLASS_PLAN = {"301": "salary", "303": "salary", "302": "frequent", "310": "frequent"}
_VENDORS = (
    "武汉晨光办公用品有限公司",
    "京东（武汉）商贸有限公司",
    "武汉市硚口区正泰文具店",
    "武汉楚天网络科技有限公司",
)
_SURNAMES = "王李张刘陈杨黄赵周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏飞斌宇浩凯婷雪琳晨"


def _fen(amount: str) -> int:
    return int(Decimal(amount) * 100)


def _yuan(fen: int) -> str:
    return f"{Decimal(fen).scaleb(-2):.2f}"


def line_key(record: dict) -> tuple:
    """The key of a budget line; payments carry the same fields."""
    return tuple(record[k] for k in LINE_ID)


# ---------------------------------------------------------------------------------------- budget


@dataclass(frozen=True)
class Profile:
    """The finance system of one district: its grid centre's budget and how it changes by year."""

    district: str
    base_file: str  # every version of the base year's lines (data/)
    base_year: int
    seed: str = ""  # prefix of the random seeds ("" keeps 硚口's historical ones)
    # (file, first year, last year): lines that exist only in those years (a code added, a unit)
    extra_files: tuple[tuple[str, int, int], ...] = ()
    # (function_code, economic_code) -> the last fiscal year the line is budgeted
    retired: dict[tuple[str, str], int] = field(default_factory=dict)
    # fiscal year -> published initial totals (基本支出, 项目支出) in yuan of the whole department
    totals: dict[int, tuple[str, str]] = field(default_factory=dict)


PROFILES: dict[str, Profile] = {
    "硚口区": Profile(
        district="硚口区",
        base_file="budget_lines_118001_2024.csv",
        base_year=2024,
        extra_files=(
            ("budget_lines_118002_2023.csv", 2023, 2023),  # a subordinate unit, merged in 2024
            ("budget_lines_118001_2025_added.csv", 2025, 9999),  # 职业年金 from 2025
        ),
        retired={("2080899", "30305"): 2024},  # 遗属生活补助: the last survivor's allowance ends
        # table 11 of the published 2024 budget (万元): 2022 557.4 = 289.7 + 267.7, 2023 480.9 = 441.8 + 39.1
        totals={2022: ("2897000.00", "2677000.00"), 2023: ("4418000.00", "391000.00")},
    ),
    "江汉区": Profile(
        district="江汉区", base_file="budget_lines_119001_2024.csv", base_year=2024, seed="江汉区"
    ),
    "江岸区": Profile(
        district="江岸区", base_file="budget_lines_121001_2024.csv", base_year=2024, seed="江岸区"
    ),
}


def profile(district: str | None = None) -> Profile:
    name = district or DEFAULT_DISTRICT
    try:
        return PROFILES[name]
    except KeyError:
        raise KeyError(f"no finance profile for district {name!r}; known: {', '.join(PROFILES)}") from None


@lru_cache(maxsize=16)
def _file_lines(name: str) -> tuple[dict, ...]:
    with (DATA_DIR / name).open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    keys = [f.key for f in BUDGET_LINE_FIELDS]
    assert all(list(r) == keys for r in rows), f"{name}: budget CSV headers differ from BUDGET_LINE_FIELDS"
    return tuple({**r, "fiscal_year": int(r["fiscal_year"])} for r in rows)


def _move_year(ts: str, year: int) -> str:
    t = dt.datetime.fromisoformat(ts)
    try:
        return t.replace(year=year).isoformat()
    except ValueError:  # 29 February
        return t.replace(year=year, day=28).isoformat()


def _factor(seed: str, row: dict, year: int) -> Decimal:
    """A line's scale from its file's year to another: the year's ±4% and the line's own ±1%."""
    year_factor = 1 + random.Random(f"{seed}minhu-budget|{year}").uniform(-0.04, 0.04)
    key = "|".join(str(v) for v in line_key(row)[1:])
    return Decimal(year_factor * (1 + random.Random(f"{seed}minhu-budget|{year}|{key}").uniform(-0.01, 0.01)))


def _scaled(row: dict, year: int, factor: Decimal) -> dict:
    """A line version moved to another fiscal year: same codes, amounts scaled by factor."""
    project = row["project_code"]
    return {
        **row,
        "fiscal_year": year,
        "project_code": project[:6] + f"{year % 100:02d}" + project[8:] if project else "",
        "initial_amount": str((Decimal(row["initial_amount"]) * factor).quantize(CENT, ROUND_HALF_UP)),
        "adjusted_amount": str((Decimal(row["adjusted_amount"]) * factor).quantize(CENT, ROUND_HALF_UP)),
        "updated_at": _move_year(row["updated_at"], year),
    }


def _to_totals(rows: list[dict], targets: tuple[str, str]) -> list[dict]:
    """Rescale the lines so that the initial 基本支出 and 项目支出 totals equal the published ones;
    the rounding remainder goes to the largest line, on every version of it."""
    out = [dict(r) for r in rows]
    for is_project, target in zip((False, True), targets, strict=True):
        mine = [r for r in out if (r["expense_type"] == "项目支出") == is_project]
        first = {line_key(r): r for r in reversed(mine)}  # the first version of each line
        current = sum(Decimal(r["initial_amount"]) for r in first.values())
        if not first or not current:
            continue
        factor = Decimal(target) / current
        for r in mine:
            for k in ("initial_amount", "adjusted_amount"):
                r[k] = str((Decimal(r[k]) * factor).quantize(CENT, ROUND_HALF_UP))
        first = {line_key(r): r for r in reversed(mine)}
        rest = Decimal(target) - sum(Decimal(r["initial_amount"]) for r in first.values())
        biggest = max(first, key=lambda k: (Decimal(first[k]["initial_amount"]), k))
        for r in mine:
            if line_key(r) == biggest:
                for k in ("initial_amount", "adjusted_amount"):
                    r[k] = str(Decimal(r[k]) + rest)
    return out


@lru_cache(maxsize=64)
def _lines(district: str, fiscal_year: int) -> tuple[dict, ...]:
    prof = profile(district)
    files = [(prof.base_file, -1, 9999), *prof.extra_files]
    rows = []
    for name, first, last in files:
        if not first <= fiscal_year <= last:
            continue
        for r in _file_lines(name):
            if prof.retired.get((r["function_code"], r["economic_code"]), 9999) < fiscal_year:
                continue
            if r["fiscal_year"] != fiscal_year:
                r = _scaled(r, fiscal_year, _factor(prof.seed, r, fiscal_year))
            rows.append(r)
    if fiscal_year in prof.totals:
        rows = _to_totals(rows, prof.totals[fiscal_year])
    return tuple(sorted(rows, key=lambda r: (r["updated_at"], line_key(r))))


def budget_lines(fiscal_year: int, district: str | None = None) -> list[dict]:
    """Every version of every budget line of the fiscal year, ordered by updated_at (plus the extra
    lines of simulators/extra_lines.py)."""
    return [dict(r) for r in _lines(district or DEFAULT_DISTRICT, fiscal_year)] + extra_lines.budget_lines(
        fiscal_year
    )


def latest_lines(fiscal_year: int, district: str | None = None) -> list[dict]:
    """The latest version of each budget line."""
    latest: dict[tuple, dict] = {}
    for r in _lines(district or DEFAULT_DISTRICT, fiscal_year):
        latest[line_key(r)] = r
    return [dict(r) for r in latest.values()]


# -------------------------------------------------------------------------------------- payments


@lru_cache(maxsize=8)
def _workdays(year: int) -> tuple[dt.date, ...]:
    first = dt.date(year, 1, 1)
    days = (first + dt.timedelta(n) for n in range((dt.date(year + 1, 1, 1) - first).days))
    return tuple(d for d in days if is_working_day(d))


def _plan(line: dict) -> tuple[str, str, str]:
    """(schedule, payee, summary) of a line's payments; an unplanned code is paid like its class."""
    if line["economic_code"] in _PLAN:
        return _PLAN[line["economic_code"]]
    schedule = _CLASS_PLAN.get(line["economic_code"][:3], "frequent")
    return schedule, "@vendor" if schedule == "frequent" else "工资统发专户", "{m}月" + line["economic_name"]


class _Planner:
    """Plans one fiscal year of payments; all randomness comes from one seeded generator."""

    def __init__(self, district: str, year: int):
        self.district = district
        self.year = year
        self.rng = random.Random(f"{profile(district).seed}minhu-payments|{year}")
        self.workdays = _workdays(year)
        self.staff = self._names(18)
        self.events: list[dict] = []

    def _names(self, n: int) -> list[str]:
        names: list[str] = []
        while len(names) < n:
            name = self.rng.choice(_SURNAMES) + "".join(self.rng.choices(_GIVEN, k=self.rng.choice((1, 2))))
            if name not in names:
                names.append(name)
        return names

    def _day(self, month: int, first: int, last: int, start: dt.date) -> dt.date | None:
        """A working day of the month between days first..last (else the next one), not before start."""
        days = [d for d in self.workdays if d.month == month and first <= d.day <= last and d >= start]
        if days:
            return self.rng.choice(days)
        later = [d for d in self.workdays if d.month == month and d.day > last and d >= start]
        return later[0] if later else None

    def _slots(self, schedule: str, economic: str, start: dt.date) -> list[tuple[dt.date, float, int]]:
        """(date, weight, month) of each payment of a line."""
        day = self._day
        if schedule == "salary":
            picks = [(day(m, 10, 15, start), 1.0, m) for m in range(1, 13)]
        elif schedule == "bonus":
            picks = [(day(m, 10, 15, start), 2.0 if m == 12 else 1.0, m) for m in (3, 6, 9, 12)]
        elif schedule == "utility":
            picks = [(day(m, 18, 25, start), self.rng.uniform(0.7, 1.4), m) for m in range(1, 13)]
        elif schedule == "dispatch":
            picks = [(day(m, 20, 28, start), 1.5 if m == 12 else 1.0, m) for m in range(1, 13)]
        elif schedule == "union":
            picks = [(day(m, 1, 20, start), 1.0, m) for m in (4, 10)]
        elif schedule == "welfare":
            picks = [(day(m, 1, 25, start), w, m) for m, w in ((1, 2.0), (6, 1.0), (9, 1.0), (12, 1.0))]
        elif schedule == "year_end":
            picks = [(day(12, 10, 20, start), 1.0, 12)]
        else:  # frequent small payments, December catch-up
            weights = (0.5, 0.7, *[1] * 9, 3)[start.month - 1 :]
            count = _FREQUENT_COUNT.get(economic, 6)
            months = self.rng.choices(range(start.month, 13), weights=weights, k=count)
            picks = [(day(m, 1, 31, start), self.rng.uniform(0.3, 1.7), m) for m in months]
        return [(d, w, m) for d, w, m in picks if d is not None]

    def _payee(self, kind: str, survivor: str) -> str:
        if kind == "@staff":
            return self.rng.choice(self.staff)
        if kind == "@vendor":
            return self.rng.choice(_VENDORS)
        return survivor if kind == "@survivor" else kind.format(district=self.district)

    def _time(self, d: dt.date) -> dt.datetime:
        seconds = self.rng.randrange(9 * 3600, 17 * 3600 + 1800)
        return dt.datetime.combine(d, dt.time(), TZ) + dt.timedelta(seconds=seconds)

    def _add(self, line: dict, at: dt.datetime, fen: int, payee: str, summary: str) -> dict:
        event = {"line": line, "at": at, "fen": fen, "payee": payee, "summary": summary}
        self.events.append(event)
        return event

    def plan(self) -> list[dict]:
        versions: dict[tuple, list[dict]] = {}
        for r in _lines(self.district, self.year):
            versions.setdefault(line_key(r), []).append(r)
        survivor = self._names(1)[0]
        slack: dict[tuple, int] = {}
        for key in sorted(versions):
            line = versions[key][-1]
            budget = _fen(line["adjusted_amount"])
            funded = [v for v in versions[key] if _fen(v["adjusted_amount"]) > 0]
            if not funded:
                continue
            start = dt.datetime.fromisoformat(funded[0]["updated_at"]).date() + dt.timedelta(days=1)
            target = int(budget * self.rng.uniform(*_EXEC_RATE[line["expense_type"]]))
            schedule, payee, summary = _plan(line)
            if budget < 100_000:  # under 1000 yuan: settled once at year end
                schedule = "year_end"
            slots = sorted(self._slots(schedule, line["economic_code"], start))
            if not slots:
                continue
            weights = [w * self.rng.uniform(0.97, 1.03) for _, w, _ in slots]
            amounts = [int(target * w / sum(weights)) for w in weights[:-1]]
            amounts.append(target - sum(amounts))
            for (d, _, m), fen in zip(slots, amounts, strict=True):
                text = summary.format(m=m, q=(m - 1) // 3 + 1)
                if schedule == "bonus" and m == 12:
                    text = "年终一次性奖金"
                self._add(line, self._time(d), fen, self._payee(payee, survivor), text)
            if len(versions[key]) == 1:  # refunds only on lines never adjusted
                slack[key] = budget - target
        self._refunds(slack)
        self._reversal()
        return self.events

    def _later_workday(self, d: dt.date, lo: int, hi: int) -> dt.date | None:
        later = [w for w in self.workdays if w > d]
        return later[self.rng.randint(lo, hi) - 1] if len(later) >= hi else None

    def _refunds(self, slack: dict[tuple, int]) -> None:
        """A few partial refunds (退回多付): the original payment was larger by what comes back."""
        candidates = [e for e in self.events if line_key(e["line"]) in slack and e["fen"] >= 50_000]
        for event in self.rng.sample(candidates, min(3, len(candidates))):
            key = line_key(event["line"])
            back = min(int(event["fen"] * self.rng.uniform(0.03, 0.2)), int(slack[key] * 0.9))
            day = self._later_workday(event["at"].date(), 3, 15)
            if back < 100 or day is None:
                continue
            slack[key] -= back
            event["fen"] += back
            summary = f"退回多付{event['line']['economic_name']}"
            self._add(event["line"], self._time(day), -back, event["payee"], summary)

    def _reversal(self) -> None:
        """One payment bounced (收款账户信息有误): reversed, then paid again the same day."""
        candidates = [e for e in self.events if e["fen"] >= 100_000 and e["at"].month < 12]
        event = self.rng.choice(candidates)
        day = self._later_workday(event["at"].date(), 1, 3)
        back = self._add(
            event["line"], self._time(day), -event["fen"], event["payee"], "支付退回：收款账户信息有误"
        )
        again = back["at"] + dt.timedelta(minutes=self.rng.randint(20, 90))
        self._add(event["line"], again, event["fen"], event["payee"], f"重新支付：{event['summary']}")


@lru_cache(maxsize=16)
def _year_payments(district: str, fiscal_year: int) -> dict[dt.date, tuple[dict, ...]]:
    events = _Planner(district, fiscal_year).plan()
    by_day: dict[dt.date, list[tuple[dt.datetime, int, dict]]] = {}
    for i, e in enumerate(events):
        by_day.setdefault(e["at"].date(), []).append((e["at"], i, e))
    out: dict[dt.date, tuple[dict, ...]] = {}
    for day, items in sorted(by_day.items()):
        records = []
        for seq, (at, _, e) in enumerate(sorted(items, key=lambda x: x[:2]), start=1):
            line = e["line"]
            record = {
                "payment_id": f"ZF{day:%Y%m%d}{seq:05d}",
                "pay_date": day.isoformat(),
                **{k: line[k] for k in LINE_ID},
                "amount": _yuan(e["fen"]),
                "payee": e["payee"],
                "summary": e["summary"],
                "updated_at": at.isoformat(),
            }
            records.append({f.key: record[f.key] for f in PAYMENT_FIELDS})
        out[day] = tuple(records)
    return out


def payments(business_date: dt.date, district: str | None = None) -> list[dict]:
    """Every payment whose updated_at falls on the local business date."""
    days = _year_payments(district or DEFAULT_DISTRICT, business_date.year)
    return [dict(r) for r in days.get(business_date, ())]


def year_payments(fiscal_year: int, district: str | None = None) -> list[dict]:
    """All payments of a fiscal year, ordered by updated_at."""
    return [
        dict(r) for day in _year_payments(district or DEFAULT_DISTRICT, fiscal_year).values() for r in day
    ]
