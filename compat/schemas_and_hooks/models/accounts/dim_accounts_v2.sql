select user_id as account_id, 'v2' as shape, {{ dbt.current_timestamp() }} as refreshed_at
from {{ ref('stg_users') }}
