

select distinct user_id
from "postgres"."analytics_staging"."stg_events"