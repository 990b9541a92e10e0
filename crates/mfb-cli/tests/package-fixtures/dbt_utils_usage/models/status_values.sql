{%- set statuses = dbt_utils.get_column_values(table=ref('orders'), column='status', order_by='status') -%}
select {% for s in statuses %}'{{ s }}'::text as status_{{ loop.index }}{% if not loop.last %}, {% endif %}{% endfor %}
