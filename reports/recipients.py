"""Who receives what: config/recipients.toml, per district (MINHU_DISTRICT).

``[districts."<district>".<group>]`` lists the recipients of the district's deployment, e.g.
``[districts."江汉区".reports] daily = [...]``. A top-level ``[<group>]`` (``[alerts]``: the data
engineers) is the default of a group a district does not list. A report group (``[reports]``) has
no default on purpose: a district's reports never go to another district's leaders. A missing
list is a RecipientsError (a ValueError: one line on the CLI) naming the file and the table.
"""

from __future__ import annotations

from minhu.settings import get_settings


class RecipientsError(ValueError):
    """config/recipients.toml lists no recipients for a district and report / alert."""


def pick(config: dict, group: str, name: str) -> list[str]:
    """The recipients of `name` (daily, weekly, monthly, selfeval, data_engineers) in `group`
    (reports, alerts) for the configured district, from the parsed recipients.toml."""
    s = get_settings()
    found = config.get("districts", {}).get(s.district, {}).get(group, {}).get(name)
    if found is None and group != "reports":
        found = config.get(group, {}).get(name)
    if not found:
        raise RecipientsError(
            f"{s.config_dir / 'recipients.toml'}: no recipients for {group}.{name} of {s.district}"
            f' (MINHU_DISTRICT): add {name} = [...] to [districts."{s.district}".{group}]'
        )
    return [str(a) for a in found]
