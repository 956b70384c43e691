"""dim_channel: the case platform's source channels (来源渠道), from the contract in minhu.schemas.

``channel_group`` groups the channels for reports: 热线 (the 12345 and 12319 hotlines), 网络
(online boards and complaints), 领导 (the district secretary's board and leaders' instructions),
媒体 (media exposure) and 上级 (cases forwarded by higher authorities).
"""

import pandas as pd

from minhu.schemas import CHANNELS

GROUPS = {
    "12345热线": "热线",
    "12319数字城管": "热线",
    "城市留言板": "网络",
    "网上投诉": "网络",
    "区委书记留言板": "领导",
    "领导批示": "领导",
    "媒体曝光": "媒体",
    "上级转办": "上级",
}


def model(dbt, session):  # noqa: ARG001 (the dbt-duckdb signature)
    dbt.config(materialized="table")
    missing = set(CHANNELS) - set(GROUPS)
    if missing:
        raise ValueError(f"dim_channel: no channel_group for {sorted(missing)}; add them to GROUPS")
    return pd.DataFrame(
        {
            "channel": list(CHANNELS),
            "channel_group": [GROUPS[c] for c in CHANNELS],
            "sort_order": list(range(1, len(CHANNELS) + 1)),
        }
    )
