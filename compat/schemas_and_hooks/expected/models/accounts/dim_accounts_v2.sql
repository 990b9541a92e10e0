select user_id as account_id, 'v2' as shape, now() as refreshed_at
from "postgres"."analytics_identity"."users"