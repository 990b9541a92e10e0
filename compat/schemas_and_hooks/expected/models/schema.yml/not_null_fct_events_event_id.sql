
    
    



select event_id
from "postgres"."analytics_marts"."fct_events"
where event_id is null


