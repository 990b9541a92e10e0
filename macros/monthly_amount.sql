{#-
  Normalises an amount reported at some frequency to a monthly amount.
  `frequency` must already be lower case (staging trims and lowercases it).
  Hourly amounts need the hours worked per week.
  An unknown frequency yields null, which the int_ models' tests catch.
-#}
{% macro monthly_amount(amount, frequency, hours_per_week='null') -%}
    case {{ frequency }}
        when 'weekly' then {{ amount }} * 52 / 12.0
        when 'biweekly' then {{ amount }} * 26 / 12.0
        when 'semimonthly' then {{ amount }} * 2
        when 'monthly' then {{ amount }}
        when 'yearly' then {{ amount }} / 12.0
        when 'hourly' then {{ amount }} * coalesce({{ hours_per_week }}, 0) * 52 / 12.0
    end
{%- endmacro %}

{#- The frequencies monthly_amount understands, for accepted_values tests and docs. -#}
{% macro income_frequencies() -%}
    {{ return(['weekly', 'biweekly', 'semimonthly', 'monthly', 'yearly', 'hourly']) }}
{%- endmacro %}
