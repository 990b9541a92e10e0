-- downstream of accounts: skipped by `build` when an error-severity test of accounts fails
select plan, count(*) as accounts, sum(balance) as balance
from "postgres"."outcomes"."accounts"
group by plan