{#- Equality of two expressions. With the behaviour flag `enable_truthy_nulls_equals_macro`
    two nulls count as equal (used to match rows on nullable unique keys). -#}
{% macro equals(expr1, expr2) -%}
  {{ return(adapter.dispatch('equals', 'dbt')(expr1, expr2)) }}
{%- endmacro %}

{% macro default__equals(expr1, expr2) -%}
  {%- if _truthy_nulls_equal() %}
    case when (({{ expr1 }} = {{ expr2 }}) or ({{ expr1 }} is null and {{ expr2 }} is null))
        then 0
        else 1
    end = 0
  {%- else -%}
    ({{ expr1 }} = {{ expr2 }})
  {%- endif %}
{% endmacro %}

{#- The behaviour flag, read from adapter.behavior where the adapter has it, else from flags. -#}
{% macro _truthy_nulls_equal() -%}
  {%- set behavior = adapter.behavior if adapter.behavior is defined else none -%}
  {%- if behavior is not none and behavior.enable_truthy_nulls_equals_macro is defined -%}
    {%- do return(behavior.enable_truthy_nulls_equals_macro.no_warn) -%}
  {%- endif -%}
  {%- do return(flags.ENABLE_TRUTHY_NULLS_EQUALS_MACRO is defined and flags.ENABLE_TRUTHY_NULLS_EQUALS_MACRO) -%}
{%- endmacro %}
