{#-
  Running SQL from Jinja. `statement` is a call block: its body is the SQL; it runs only
  when `execute` is true (at parse time it renders nothing), and when named its result is
  kept for `load_result(name)`.
-#}
{% macro statement(name=none, fetch_result=false, auto_begin=true, language='sql') -%}
  {%- if execute -%}
    {%- set sql = caller() -%}
    {%- if language != 'sql' -%}
      {%- do exceptions.raise_compiler_error("statement() runs SQL only; language '" ~ language ~ "' is not supported by mfb") -%}
    {%- endif -%}
    {%- set response, table = adapter.execute(sql, auto_begin=auto_begin, fetch=fetch_result) -%}
    {%- if name is not none -%}
      {{ store_result(name, response=response, agate_table=table) }}
    {%- endif -%}
  {%- endif -%}
{%- endmacro %}

{#- Runs `sql` and returns its result table (none at parse time, when nothing runs). -#}
{% macro run_query(sql) -%}
  {%- call statement('run_query_statement', fetch_result=true, auto_begin=false) -%}
    {{ sql }}
  {%- endcall -%}
  {%- set result = load_result('run_query_statement') -%}
  {%- do return(result.table if result else none) -%}
{%- endmacro %}

{#- A statement that runs nothing but records a result, for materializations that skip work. -#}
{% macro noop_statement(name=none, message=none, code=none, rows_affected=none, res=none) -%}
  {%- set sql = caller() -%}
  {%- if name is not none -%}
    {%- if store_raw_result is defined -%}
      {{ store_raw_result(name, message=message, code=code, rows_affected=rows_affected, agate_table=res) }}
    {%- else -%}
      {{ store_result(name, response=message, agate_table=res) }}
    {%- endif -%}
  {%- endif -%}
{%- endmacro %}
