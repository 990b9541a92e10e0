{#- The current time, in the forms dbt exposes (plain, backward-compatible, UTC, snapshot). -#}

{% macro current_timestamp() -%}{{ return(adapter.dispatch('current_timestamp', 'dbt')()) }}{%- endmacro %}
{% macro default__current_timestamp() -%}now(){%- endmacro %}

{% macro current_timestamp_backcompat() -%}{{ return(adapter.dispatch('current_timestamp_backcompat', 'dbt')()) }}{%- endmacro %}
{% macro default__current_timestamp_backcompat() %}
    current_timestamp::timestamp
{% endmacro %}

{% macro current_timestamp_in_utc_backcompat() -%}{{ return(adapter.dispatch('current_timestamp_in_utc_backcompat', 'dbt')()) }}{%- endmacro %}
{% macro default__current_timestamp_in_utc_backcompat() %}
    (current_timestamp at time zone 'utc')::timestamp
{% endmacro %}

{% macro snapshot_get_time() -%}{{ return(adapter.dispatch('snapshot_get_time', 'dbt')()) }}{%- endmacro %}
{% macro default__snapshot_get_time() -%}now()::timestamp without time zone{%- endmacro %}
