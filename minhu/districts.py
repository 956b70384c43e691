"""Wuhan's districts (市辖区): the reference table behind MINHU_DISTRICT.

minhu serves the 社会管理网格化服务中心 of one district; which one is configuration
(``MINHU_DISTRICT``, see minhu.settings), never code. Each district has its administrative
division code (GB/T 2260) and a romanised key used in default addresses
(``minhu@<key>-grid.local``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class District:
    name: str  # 江汉区
    code: str  # 420103
    key: str  # jianghan


WUHAN: dict[str, District] = {
    d.name: d
    for d in (
        District("江岸区", "420102", "jiangan"),
        District("江汉区", "420103", "jianghan"),
        District("硚口区", "420104", "qiaokou"),
        District("汉阳区", "420105", "hanyang"),
        District("武昌区", "420106", "wuchang"),
        District("青山区", "420107", "qingshan"),
        District("洪山区", "420111", "hongshan"),
        District("东西湖区", "420112", "dongxihu"),
        District("汉南区", "420113", "hannan"),
        District("蔡甸区", "420114", "caidian"),
        District("江夏区", "420115", "jiangxia"),
        District("黄陂区", "420116", "huangpi"),
        District("新洲区", "420117", "xinzhou"),
    )
}


class UnknownDistrict(ValueError):
    """MINHU_DISTRICT names no district of Wuhan."""


def lookup(name: str) -> District:
    """The district of a name (surrounding spaces ignored); UnknownDistrict with one clear line."""
    found = WUHAN.get(name.strip())
    if found is not None:
        return found
    guess = next((d.name for d in WUHAN.values() if d.name.removesuffix("区") == name.strip()), None)
    hint = f"did you mean {guess}? " if guess else ""
    raise UnknownDistrict(
        f"MINHU_DISTRICT={name!r} is not a district of Wuhan: {hint}set it to one of " + " ".join(WUHAN)
    )
