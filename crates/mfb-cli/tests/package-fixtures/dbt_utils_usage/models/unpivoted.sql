{{ dbt_utils.unpivot(relation=ref('customers'), cast_to='text', exclude=['customer_id'], field_name='attribute', value_name='val') }}
