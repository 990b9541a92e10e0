{% snapshot accounts_snapshot %}

{{
    config(
        unique_key='account_id',
        strategy='check',
        check_cols=['account_name', 'country_code'],
    )
}}

select * from {{ ref('accounts') }}

{% endsnapshot %}
