{#-
  A boolean SQL expression keeping the events of real customers: internal accounts
  (raw_tenants.is_internal) are dropped, and when the `tenant_ids` var lists ids, only
  those customers are kept, e.g. `mfb build --vars '{tenant_ids: [1, 3]}'`.
  This narrows what is *built*; who may *read* which rows is the marts' `rls:` config.
-#}
{% macro tenant_filter(column='tenant_id') -%}
    {%- set ids = var('tenant_ids', []) -%}
    {%- if ids is string or ids is number -%}
        {%- set ids = [ids] -%}
    {%- endif -%}
    {{ column }} not in (select tenant_id from {{ ref('raw_tenants') }} where is_internal)
    {%- if ids | length > 0 %}
    and {{ column }} in ({% for id in ids %}{{ id | int }}{{ ", " if not loop.last }}{% endfor %})
    {%- endif -%}
{%- endmacro %}
