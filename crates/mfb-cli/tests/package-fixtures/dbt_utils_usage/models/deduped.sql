{{ dbt_utils.deduplicate(relation=ref('orders'), partition_by='order_id', order_by='ordered_at desc') }}
