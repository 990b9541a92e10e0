{{ config(severity='warn') }}
select * from {{ ref('accounts') }} where plan = 'pro' and closed_at is not null
