-- downstream of accounts: skipped by `build` when an error-severity test of accounts fails
select plan, count(*) as accounts, sum(balance) as balance
from {{ ref('accounts') }}
group by plan
