{#- A small inline table of events shared by the models. -#}
{% macro events_cte() -%}
events as (
    select * from (values
        (1, 'a,b,c', 'alpha', true, '2024-01-31 10:15:30'::timestamp, '2024-03-01 08:00:00'::timestamp, 125),
        (2, 'x,y', 'beta', false, '2023-12-25 23:59:59'::timestamp, '2024-01-01 00:00:01'::timestamp, 80),
        (3, 'solo', null, null, '2024-02-29 12:00:00'::timestamp, '2024-02-29 12:00:00'::timestamp, 0)
    ) as t (event_id, tags, label, flag, started_at, ended_at, amount_cents)
)
{%- endmacro %}
