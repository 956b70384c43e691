"""The quarantine entry of a bad row: no personal field, personal data masked everywhere else."""

from __future__ import annotations

import json
import re
from typing import Any

from minhu import pii
from minhu.schemas import SOURCES

from .rows import RowResult


def quarantine_row(file: str, res: RowResult) -> dict[str, Any]:
    """One quarantine entry per bad row: fields and reasons joined by '; ' in the same order.

    ``raw`` is the JSON of the row's original cells by English key, personal fields removed, and
    in every other cell (and in the reasons) personal data masked by `minhu.pii.mask`: the row's
    own name, address, phone and payee wherever they appear, and any phone, ID or door number.
    A cell shifted into the wrong column, or a name in a free-text cell, therefore never shows.
    """
    if not res.errors:
        raise ValueError(f"{file} row {res.row}: row has no errors")

    def scrub(text: str) -> str:
        for value in secrets:
            text = text.replace(value, pii.NAME_MASK)
        return pii.mask(text, name, address) or ""

    name, address = res.raw.get("citizen_name"), res.raw.get("address")
    secrets = sorted(
        {v.strip() for k, v in res.raw.items() if k in _PERSONAL_VALUES and v and len(v.strip()) >= 2},
        key=len,
        reverse=True,
    )
    raw = {
        k: (scrub(v) if k not in _KEYS else _scrub_key(v, secrets))
        for k, v in res.raw.items()
        if k not in _PERSONAL
    }
    return {
        "file": file,
        "row": res.row,
        "field": "; ".join(k for k, _ in res.errors),
        "reason": "; ".join(scrub(r) for _, r in res.errors),
        "raw": json.dumps(raw, ensure_ascii=False),
    }


_PERSONAL = frozenset(f.key for spec in SOURCES.values() for f in spec["fields"] if f.personal)
# record keys (case_id, payment_id, budget codes) are how a quarantined row is found again: masked
# only when the whole cell is a personal value or a phone / ID number, never for a digit run inside
_KEYS = frozenset(k for spec in SOURCES.values() for k in spec["id"])
_WHOLE = tuple(re.compile(p) for p in (pii.ID_NUMBER, pii.MOBILE, pii.LANDLINE))


def _scrub_key(value: str, secrets: list[str]) -> str:
    v = value.strip()
    if v in secrets or any(r.fullmatch(v) for r in _WHOLE):
        return pii.NAME_MASK
    return value


# personal fields whose value is a token (a name, a phone, an address, a payee), searched for in
# the other cells; free-text personal fields (content) are only dropped
_PERSONAL_VALUES = frozenset(
    f.key for spec in SOURCES.values() for f in spec["fields"] if f.personal and f.type != "text"
)
