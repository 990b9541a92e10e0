-- built as "postgres"."ovr"."account_rollup" (account_rollup); sources: legacy.accounts, legacy.contacts
-- 2 distinct tags; key da033761d6c45323e31b567fbb154126
-- settings: regions:
- EU
- NA
- APAC
-- this {{ is not rendered }} {% neither is this %}
select
    country_code,
    count(*) as accounts,
    count(*) filter (where country_code in (select code from "ovr"."countries" where region = 'EU')) as eu_accounts,
    count(*) filter (where country_code in (select code from "ovr"."countries" where region = 'NA')) as na_accounts,
    count(*) filter (where country_code in (select code from "ovr"."countries" where region = 'APAC')) as apac_accounts
from "ovr"."accounts"
group by country_code
having count(*) <= (select max(countries) from "ovr"."rpt_region_counts")