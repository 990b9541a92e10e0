

select
    event_id,
    user_id,
    event_type,
    occurred_at
from "postgres"."analytics_staging"."stg_events"
