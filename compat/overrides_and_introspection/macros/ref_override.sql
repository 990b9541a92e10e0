{#- Project-wide ref override: relations are rendered without the database part
    (a common pattern for projects that move between databases). -#}
{% macro ref(model_name) %}
    {% do return(builtins.ref(model_name).include(database=false)) %}
{% endmacro %}
