{#-
  A boolean SQL expression keeping only the rows of the white labels listed in the
  `white_label_codes` var, e.g. `dbt build --vars '{white_label_codes: [co]}'`.
  `column` holds a white_label_id.
-#}
{% macro white_label_filter(column='white_label_id') -%}
    {%- set codes = var('white_label_codes') -%}
    {%- if codes is string -%}
        {%- set codes = [codes] -%}
    {%- endif -%}
    {%- if codes | length == 0 -%}
        {{ exceptions.raise_compiler_error("var 'white_label_codes' is empty: list at least one white label code, e.g. --vars '{white_label_codes: [co]}'") }}
    {%- endif -%}
    {{ column }} in (
        select white_label_id
        from {{ ref('stg_white_labels') }}
        where white_label_code in (
            {%- for code in codes -%}
                '{{ code | lower }}'{{ ", " if not loop.last }}
            {%- endfor -%}
        )
    )
{%- endmacro %}

{#- Keeps QA screens out unless the `include_test_screens` var is true. -#}
{% macro exclude_test_screens(column='is_test') -%}
    {%- if var('include_test_screens') -%}
        true
    {%- else -%}
        not {{ column }}
    {%- endif -%}
{%- endmacro %}
