select 'latest' as pick, count(*) as n from {{ ref('dim_accounts') }}
union all
select 'v1', count(*) from {{ ref('dim_accounts', v=1) }}
union all
select 'v2', count(*) from {{ ref('dim_accounts', version=2) }}
