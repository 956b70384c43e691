{#-
    One row per landed batch (raw.landings, already typed by extract/load.py): what was loaded,
    from which source and business date, and how much was quarantined. No personal data:
    counts and dates only (the landing path and checksum stay in raw).
-#}
select
    batch,
    source,
    kind,
    business_date,
    file_name,
    landed_count,
    source_count,
    quarantined,
    loaded_rows,
    loaded_at
from {{ source('raw', 'landings') }}
