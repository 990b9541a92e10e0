select {{ dbt_utils.get_single_value("select max(amount) from " ~ ref('orders'), default='0') }} as max_amount
