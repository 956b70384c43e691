"""The 绩效自评 configuration of a fiscal year (``config/selfeval/<year>.toml``): the budget
execution weight and each indicator's weight, target and direction (or, for a qualitative one,
its achievement level and fraction of the weight). See reports/selfeval.py for the scoring."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from minhu.settings import get_settings

# Qualitative achievement levels: the band of the weight (fractions) each may award.
BANDS = {
    "achieved": (Decimal("0.8"), Decimal("1.0")),
    "partly": (Decimal("0.5"), Decimal("0.8")),
    "not_achieved": (Decimal("0.0"), Decimal("0.5")),
}
ACHIEVEMENT_TEXT = {"achieved": "达成", "partly": "部分达成", "not_achieved": "未达成"}


class ConfigError(ValueError):
    """The self-evaluation configuration of a year is missing a field or inconsistent."""


@dataclass(frozen=True)
class IndicatorSpec:
    name: str
    weight: Decimal
    level1: str = ""
    level2: str = ""
    kind: str = "quantitative"  # quantitative | qualitative
    indicator: str | None = None  # a warehouse indicator (actual from marts.fct_indicators)
    scope: str = "all"
    actual: Decimal | None = None  # a stated actual (when not a warehouse indicator)
    target: Decimal | None = None
    direction: str = "ge"
    target_text: str | None = None
    actual_text: str | None = None
    achievement: str | None = None
    fraction: Decimal | None = None


@dataclass(frozen=True)
class Config:
    path: Path
    fiscal_year: int
    budget_weight: Decimal
    department: tuple[IndicatorSpec, ...]
    project_default: tuple[IndicatorSpec, ...]
    projects: dict[str, tuple[IndicatorSpec, ...]] = field(default_factory=dict)

    def indicators(self, scope: str) -> tuple[IndicatorSpec, ...]:
        if scope == "all":
            return self.department
        return self.projects.get(scope.removeprefix("project:"), self.project_default)


def _dec(value, where: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ConfigError(f"{where}: expected a number, got {value!r}")
    try:
        return Decimal(str(value))
    except ArithmeticError as exc:
        raise ConfigError(f"{where}: expected a number, got {value!r}") from exc


def _spec(entry: dict, where: str) -> IndicatorSpec:
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: expected a table")
    for key in ("name", "weight"):
        if key not in entry:
            raise ConfigError(f"{where}: missing {key!r}")
    name = str(entry["name"])
    where = f"{where} ({name})"
    known = set(IndicatorSpec.__dataclass_fields__)
    unknown = set(entry) - known
    if unknown:
        raise ConfigError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    weight = _dec(entry["weight"], f"{where} weight")
    kind = entry.get("kind", "quantitative")
    common = {
        "name": name,
        "weight": weight,
        "level1": str(entry.get("level1", "")),
        "level2": str(entry.get("level2", "")),
        "target_text": entry.get("target_text"),
        "actual_text": entry.get("actual_text"),
    }
    if weight < 0:
        raise ConfigError(f"{where}: weight must not be negative")
    if kind == "qualitative":
        achievement = entry.get("achievement")
        if achievement not in BANDS:
            raise ConfigError(f"{where}: achievement must be one of {', '.join(BANDS)}, got {achievement!r}")
        if "fraction" not in entry and achievement != "achieved":
            raise ConfigError(
                f"{where}: a {achievement} qualitative indicator needs its fraction of the weight"
            )
        fraction = _dec(entry.get("fraction", 1), f"{where} fraction")
        lo, hi = BANDS[achievement]
        if not lo <= fraction <= hi:
            raise ConfigError(f"{where}: fraction {fraction} is outside the {achievement} band {lo}–{hi}")
        return IndicatorSpec(**common, kind=kind, achievement=achievement, fraction=fraction)
    if kind != "quantitative":
        raise ConfigError(f"{where}: kind must be quantitative or qualitative, got {kind!r}")
    if ("indicator" in entry) == ("actual" in entry):
        raise ConfigError(f"{where}: give either `indicator` (from the warehouse) or `actual` (stated)")
    if "target" not in entry:
        raise ConfigError(f"{where}: missing 'target'")
    direction = entry.get("direction", "ge")
    if direction not in ("ge", "le"):
        raise ConfigError(f"{where}: direction must be ge or le, got {direction!r}")
    return IndicatorSpec(
        **common,
        kind=kind,
        indicator=entry.get("indicator"),
        scope=str(entry.get("scope", "all")),
        actual=_dec(entry["actual"], f"{where} actual") if "actual" in entry else None,
        target=_dec(entry["target"], f"{where} target"),
        direction=direction,
    )


def _specs(table: dict, where: str, budget_weight: Decimal) -> tuple[IndicatorSpec, ...]:
    entries = table.get("indicators", []) if isinstance(table, dict) else None
    if not isinstance(entries, list):
        raise ConfigError(f"{where}: expected [[{where}.indicators]] entries")
    specs = tuple(_spec(e, f"{where}.indicators[{i}]") for i, e in enumerate(entries))
    total = budget_weight + sum((s.weight for s in specs), Decimal(0))
    if total != 100:
        raise ConfigError(f"{where}: budget_weight + indicator weights = {total}, not 100")
    return specs


def config_path(year: int) -> Path:
    return get_settings().config_dir / "selfeval" / f"{year}.toml"


def load_config(year: int, path: Path | None = None) -> Config:
    """The year's configuration; errors name the file and the entry."""
    path = path or config_path(year)
    if not path.exists():
        raise FileNotFoundError(f"no self-evaluation configuration for {year}: {path} does not exist")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    try:
        if data.get("fiscal_year") != year:
            raise ConfigError(f"fiscal_year is {data.get('fiscal_year')!r}, expected {year}")
        budget_weight = _dec(data.get("budget_weight", 20), "budget_weight")
        department = _specs(data.get("department", {}), "department", budget_weight)
        default = _specs(data.get("project_default", {}), "project_default", budget_weight)
        projects = {
            code: _specs(table, f'projects."{code}"', budget_weight)
            for code, table in data.get("projects", {}).items()
        }
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    return Config(path, year, budget_weight, department, default, projects)
