


with
base as (

    select
        1 as id,
        'eu-west' as region,
        'fallback_value' as fallback,
        'EUR' as currency

),
amounts as (

    select id, 125.5 as revenue, 80.25 as cost
    from base

)

-- begin FINAL SELECT

-- inside final select
select
    base.*,
    round((amounts.revenue * 1.0)::numeric, 2) as revenue,
    round((amounts.cost * 1.08)::numeric, 2) as cost_usd,
    (array_agg(amounts.id))[1] as any_id,
    cast(base.region as varchar) as region_text
from base
join amounts using (id)
group by base.id, base.region, base.fallback, base.currency, amounts.revenue, amounts.cost

-- end FINAL SELECT