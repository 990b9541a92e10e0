{% macro audit_table_ddl() %}
create schema if not exists {{ target.schema }}_audit;
create table if not exists {{ target.schema }}_audit.run_log (
    event text,
    logged_at timestamp default {{ dbt.current_timestamp() }}
)
{% endmacro %}

{#- One insert listing every enabled model of this project, found through the graph. -#}
{% macro record_model_inventory() %}
    {%- set names = [] -%}
    {%- if execute -%}
        {%- for node in graph.nodes.values() -%}
            {%- if node.resource_type == 'model' and node.package_name == project_name -%}
                {%- do names.append(node.name) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    insert into {{ target.schema }}_audit.run_log (event)
    values ('models: {{ names | sort | join(",") }}')
{% endmacro %}
