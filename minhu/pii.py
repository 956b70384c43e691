"""Masking of personal data inside free text: one rule, used in Python and (as the same regular
expressions, RE2-compatible) by the dbt macro ``mask_personal`` in ``stg_platform__case_rows``.

`mask(text, name=None, address=None)` replaces, in this order:

1. the record's own citizen name (if at least 2 characters) by ``**``;
2. the record's own address, exactly as given (if at least 4 characters), by ``[地址]``;
3. ID-card numbers (18 digits or 17 + X, or 15 digits) by ``[身份证号]``;
4. mobile numbers (optionally +86) by ``[电话]`` and landlines with an area code and a dash
   (027-83851234) by ``[电话]``;
5. door numbers of any address: after a place word (…路 …大道 …街 …巷 …小区 …社区 …花园 …园 …苑
   …村 …大厦 …, see ``PLACE``) the house / building / unit / room numbers (``634号``, ``特1号附5号``,
   ``4栋2单元1201室``, ``18栋``, ``3-2-1201室``) become ``[地址]``. The road or estate name before
   them stays: it is no finer than the community and grid the marts already carry, and keeping it
   means an ordinary word is never eaten. A floor alone (``3楼``), a date (``3月5号``) or a line
   number (``地铁3号线``: no place word before it) is not an address.

The patterns are constants so the dbt macro can be checked to use exactly the same ones
(tests/test_pii.py); `tests/test_pii.py` also runs the dbt model on the same samples.
"""

from __future__ import annotations

import re

NAME_MASK = "**"
ADDRESS_MASK = "[地址]"
ID_MASK = "[身份证号]"
PHONE_MASK = "[电话]"

ID_NUMBER = r"[0-9]{17}[0-9Xx]|[0-9]{15}"
MOBILE = r"(\+?86[- ]?)?1[3-9][0-9][- ]?[0-9]{4}[- ]?[0-9]{4}"
LANDLINE = r"0[0-9]{2,3}-[0-9]{7,8}"
# A place word that a door number follows, then the numbers; group 1 (the place word) is kept.
PLACE = r"(大道|大街|路|街|巷|弄|村|区|园|苑|城|府|湾|庭|居|邸|阁|院|寓|厦|墩|庄|坊|场|中心)"
_D = r"[0-9０-９]+"
_FIRST = r"(?:号楼|号院|号|栋|幢|座|单元|室)"
_NEXT = r"(?:号楼|号院|号|栋|幢|座|单元|室|楼|层)"
DOOR = PLACE + rf"(特?{_D}(?:{_FIRST}|(?:-{_D})+(?:号|室))(?:[附之-]?{_D}{_NEXT})*)"
DOOR_REPLACEMENT = r"\1" + ADDRESS_MASK  # RE2 and Python both write a group as \1

_ID_RE = re.compile(ID_NUMBER)
_MOBILE_RE = re.compile(MOBILE)
_LANDLINE_RE = re.compile(LANDLINE)
_DOOR_RE = re.compile(DOOR)

MIN_NAME = 2
MIN_ADDRESS = 4


def mask(text: str | None, name: str | None = None, address: str | None = None) -> str | None:
    """The text with personal data masked (see the module docstring); None stays None."""
    if text is None or text == "":
        return text
    name = (name or "").strip()
    address = (address or "").strip()
    if len(name) >= MIN_NAME:
        text = text.replace(name, NAME_MASK)
    if len(address) >= MIN_ADDRESS:
        text = text.replace(address, ADDRESS_MASK)
    text = _ID_RE.sub(ID_MASK, text)
    text = _MOBILE_RE.sub(PHONE_MASK, text)
    text = _LANDLINE_RE.sub(PHONE_MASK, text)
    return _DOOR_RE.sub(DOOR_REPLACEMENT, text)
