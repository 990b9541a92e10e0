{{ dbt_utils.union_relations(relations=[ref('orders'), ref('late_orders')], exclude=['ordered_at']) }}
