{#- The `part_number`-th piece of `string_text` split on `delimiter_text` (negative counts from the end). -#}
{% macro split_part(string_text, delimiter_text, part_number) -%}
  {{ return(adapter.dispatch('split_part', 'dbt')(string_text, delimiter_text, part_number)) }}
{%- endmacro %}

{% macro default__split_part(string_text, delimiter_text, part_number) %}

    split_part(
        {{ string_text }},
        {{ delimiter_text }},
        {{ part_number }}
        )

{% endmacro %}

{#- PostgreSQL before 14 has no negative positions: count the delimiters and index from the front. -#}
{% macro postgres__split_part(string_text, delimiter_text, part_number) %}
  {%- if part_number >= 0 %}
    {{ default__split_part(string_text, delimiter_text, part_number) }}
  {%- else %}
    {{ _split_part_from_end(string_text, delimiter_text, part_number) }}
  {%- endif %}
{% endmacro %}

{% macro _split_part_from_end(string_text, delimiter_text, part_number) %}

    split_part(
        {{ string_text }},
        {{ delimiter_text }},
          length({{ string_text }})
          - length(
              replace({{ string_text }}, {{ delimiter_text }}, '')
          ) + 2 + {{ part_number }}
        )

{% endmacro %}
