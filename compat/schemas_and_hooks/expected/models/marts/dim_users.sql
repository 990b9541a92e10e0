

select
    users.user_id,
    count(events.event_id) as event_count,
    min(events.occurred_at) as first_seen
from "postgres"."analytics_identity"."users" as users
left join "postgres"."analytics_marts"."fct_events" as events
    on events.user_id = users.user_id
group by users.user_id