{% snapshot accounts_snapshot %}
{{ config(unique_key='region_id', strategy='check', check_cols=['name']) }}
select region_id, name from {{ ref('regions') }}
{% endsnapshot %}
