

select count(*) as users, sum(event_count) as events
from "postgres"."shared"."users_dim"