{{ config(alias='users_dim', tags=['shared']) }}

select
    users.user_id,
    count(events.event_id) as event_count,
    min(events.occurred_at) as first_seen
from {{ ref('stg_users') }} as users
left join {{ ref('fct_events') }} as events
    on events.user_id = users.user_id
group by users.user_id
