-- downstream of regions, whose tests only warn: still built
select r.name, count(a.account_id) as accounts
from {{ ref('regions') }} r left join {{ ref('accounts') }} a using (region_id)
group by r.name
