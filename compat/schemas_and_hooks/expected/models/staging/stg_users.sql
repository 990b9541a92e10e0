

select distinct
    user_id,
    '"postgres"."analytics_identity"."users"' as built_in,
    'analytics_identity.users' as short_name
from "postgres"."analytics_staging"."stg_events"