{#-
  Relation helpers that packages call as plain Jinja on top of the native adapter
  (`adapter.get_relation`, `adapter.get_columns_in_relation`, `api.Relation`).
-#}

{#- The relation as it exists in the database, or none when it does not exist. -#}
{% macro load_cached_relation(relation) -%}
  {%- do return(adapter.get_relation(database=relation.database, schema=relation.schema, identifier=relation.identifier)) -%}
{%- endmacro %}

{#- Older name of load_cached_relation, still used by packages (dbt_utils, codegen). -#}
{% macro load_relation(relation) -%}
  {%- do return(load_cached_relation(relation)) -%}
{%- endmacro %}

{#- Returns [exists, relation]: the existing relation, or a new one of `type` that does not exist yet. -#}
{% macro get_or_create_relation(database, schema, identifier, type) -%}
  {%- do return(adapter.dispatch('get_or_create_relation', 'dbt')(database, schema, identifier, type)) -%}
{%- endmacro %}

{% macro default__get_or_create_relation(database, schema, identifier, type) -%}
  {%- set existing = adapter.get_relation(database=database, schema=schema, identifier=identifier) -%}
  {%- if existing -%}
    {%- do return([true, existing]) -%}
  {%- endif -%}
  {%- set created = api.Relation.create(database=database, schema=schema, identifier=identifier, type=type) -%}
  {%- do return([false, created]) -%}
{%- endmacro %}

{#- The column names a query would return, found by running it with no rows. -#}
{% macro get_columns_in_query(select_sql) -%}
  {%- do return(adapter.dispatch('get_columns_in_query', 'dbt')(select_sql)) -%}
{%- endmacro %}

{% macro default__get_columns_in_query(select_sql) -%}
  {%- call statement('get_columns_in_query', fetch_result=true, auto_begin=false) -%}
    select * from (
        {{ select_sql }}
    ) as __dbt_sbq
    where false
    limit 0
  {%- endcall -%}
  {%- set result = load_result('get_columns_in_query') -%}
  {%- if not result -%}
    {%- do return([]) -%}
  {%- endif -%}
  {%- do return(result.table.columns | map(attribute='name') | list) -%}
{%- endmacro %}
