select 'latest' as pick, count(*) as n from "postgres"."analytics"."dim_accounts_v2"
union all
select 'v1', count(*) from "postgres"."analytics"."dim_accounts_v1"
union all
select 'v2', count(*) from "postgres"."analytics"."dim_accounts_v2"