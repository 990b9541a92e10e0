{#-
  Routes a tenant build into the tenant's schema: with `--vars '{tenant: co}'` every model
  is built into `tenant_co` (the `schema_pattern` of tenants.yml). Seeds always go to the
  shared raw schema; without a tenant, dbt's default naming applies (<schema>_<custom>).
-#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- set tenant = var('tenant', none) -%}
    {%- if tenant and node.resource_type != 'seed' -%}
        {%- if (tenant | string | lower) not in var('tenants') -%}
            {{ exceptions.raise_compiler_error("unknown tenant '" ~ tenant ~ "': use one of " ~ var('tenants') | join(', ') ~ " (the ids of tenants.yml)") }}
        {%- endif -%}
        tenant_{{ tenant | string | lower }}
    {%- elif custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ target.schema }}_{{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}

{#- The SQL predicate keeping the current tenant's rows (every row without a tenant). -#}
{% macro this_tenant(column='tenant') -%}
    {%- set tenant = var('tenant', none) -%}
    {%- if tenant -%}
        {{ column }} = '{{ tenant | string | lower }}'
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}
