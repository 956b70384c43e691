{#-
    The case platform's source channels (来源渠道): the value set `channel` of the seed
    value_sets (the contract of sources.md §1), in its order, with the report group of the seed
    channel_groups: 热线 (the 12345 and 12319 hotlines), 网络 (online boards and complaints),
    领导 (the district secretary's board and leaders' instructions), 媒体 (media exposure) and
    上级 (cases forwarded by higher authorities). A channel without a group fails a not_null test.
-#}
select
    value_sets.value as channel,
    channel_groups.channel_group,
    cast(value_sets.sort_order as bigint) as sort_order
from {{ ref('value_sets') }} as value_sets
left join {{ ref('channel_groups') }} as channel_groups on value_sets.value = channel_groups.channel
where value_sets.field = 'channel'
