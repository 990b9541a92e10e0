select user_id as account_id, 'v1' as shape
from "postgres"."analytics_identity"."users"