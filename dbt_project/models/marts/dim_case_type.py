"""dim_case_type: the case types (诉求类型) and their time limits in working days (办理时限).

From the contract in minhu.schemas (sources.md §1): 咨询 3 working days, 求助/建议/表扬 5,
投诉/举报 10; a business-environment (营商环境) case gets ``business_env_time_limit_working_days``
(5) whatever its type. Working days are those of dim_calendar (State Council calendar with 调休).
"""

import pandas as pd

from minhu.schemas import BUSINESS_ENV_TIME_LIMIT, CASE_TYPES, TIME_LIMIT_WORKING_DAYS


def model(dbt, session):  # noqa: ARG001 (the dbt-duckdb signature)
    dbt.config(materialized="table")
    return pd.DataFrame(
        {
            "case_type": list(CASE_TYPES),
            "time_limit_working_days": [TIME_LIMIT_WORKING_DAYS[t] for t in CASE_TYPES],
            "business_env_time_limit_working_days": [BUSINESS_ENV_TIME_LIMIT] * len(CASE_TYPES),
            "sort_order": list(range(1, len(CASE_TYPES) + 1)),
        }
    )
