{#- Per-node switches that fall back to the command-line flags when the node's config is silent. -#}

{#- True when a test's failing rows should be saved to a table (`store_failures`, `--store-failures`). -#}
{% macro should_store_failures() -%}
  {%- set configured = config.get('store_failures') -%}
  {%- if configured is none -%}
    {%- set configured = flags.STORE_FAILURES -%}
  {%- endif -%}
  {%- do return(configured) -%}
{%- endmacro %}

{#- True when a model must be rebuilt from scratch (`full_refresh` config, `--full-refresh`). -#}
{% macro should_full_refresh() -%}
  {%- set configured = config.get('full_refresh') -%}
  {%- if configured is none -%}
    {%- set configured = flags.FULL_REFRESH -%}
  {%- endif -%}
  {%- do return(configured) -%}
{%- endmacro %}
