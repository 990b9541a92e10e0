-- downstream of regions, whose tests only warn: still built
select r.name, count(a.account_id) as accounts
from "postgres"."outcomes"."regions" r left join "postgres"."outcomes"."accounts" a using (region_id)
group by r.name