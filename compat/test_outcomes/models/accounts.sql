select id as account_id, name, plan, region_id, balance, closed_at
from {{ ref('raw_accounts') }}
