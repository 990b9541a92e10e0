select user_id as account_id, 'v1' as shape
from {{ ref('stg_users') }}
