{#-
  Monthly federal poverty level for a household of `household_size` people, from the
  `fpl_annual_base` and `fpl_annual_per_additional_person` vars. Parenthesised as a whole
  so it can stand as a divisor.
-#}
{% macro monthly_poverty_line(household_size) -%}
    (
        (
            {{ var('fpl_annual_base') }}
            + {{ var('fpl_annual_per_additional_person') }} * greatest({{ household_size }} - 1, 0)
        ) / 12.0
    )
{%- endmacro %}
