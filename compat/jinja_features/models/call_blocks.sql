{% set region = env_var('COMPAT_REGION', 'eu-west') %}
{% set unset_fallback = var('not_defined_anywhere', 'fallback_value') %}

with
{% call cte('base') %}
    select
        1 as id,
        '{{ region }}' as region,
        '{{ unset_fallback }}' as fallback,
        '{{ var("currency") }}' as currency
{% endcall %},
{% call cte('amounts') %}
    select id, 125.5 as revenue, 80.25 as cost
    from base
{% endcall %}

{% call(title) banner('Final Select') %}
-- inside {{ title }}
select
    base.*,
    {{ to_money('amounts.revenue', var('currency')) }} as revenue,
    {{ to_money('amounts.cost', 'USD') }} as cost_usd,
    {{ dbt.any_value('amounts.id') }} as any_id,
    cast(base.region as {{ dbt.type_string() }}) as region_text
from base
join amounts using (id)
group by base.id, base.region, base.fallback, base.currency, amounts.revenue, amounts.cost
{% endcall %}
