

select *
from "postgres"."analytics_marts"."fct_events"
where occurred_at > now()