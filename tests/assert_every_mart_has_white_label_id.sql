-- Every mart carries white_label_id, the tenant column partner-level access keys on.
-- Lists the marts that lack it (or do not exist after the build).
{%- set marts = [
    ref('dim_white_labels'),
    ref('dim_programs'),
    ref('fct_screens'),
    ref('fct_program_eligibility'),
    ref('fct_eligibility_runs'),
    ref('mart_screener_funnel'),
    ref('mart_program_value_by_county'),
] %}

with expected as (
    {%- for mart in marts %}
    select '{{ mart.schema }}' as table_schema, '{{ mart.identifier }}' as table_name
    {{- "\n    union all" if not loop.last }}
    {%- endfor %}
)

select e.table_schema, e.table_name
from expected as e
left join information_schema.columns as c
    on c.table_schema = e.table_schema
    and c.table_name = e.table_name
    and c.column_name = 'white_label_id'
where c.column_name is null
