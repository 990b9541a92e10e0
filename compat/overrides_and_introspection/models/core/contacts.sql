{%- set expected_columns = ['contact_id', 'account_id', 'email'] -%}
{%- set actual = column_names_or(ref('accounts'), []) -%}
{%- set manual = api.Relation.create(database='postgres', schema='legacy_crm', identifier='contact_notes') -%}

-- accounts columns known at compile time: {{ actual | length }}
-- notes relation: {{ manual }} / {{ manual.schema }}.{{ manual.identifier }}
select
    {%- for col in expected_columns %}
    {{ col }}{{ ',' if not loop.last }}
    {%- endfor %}
from {{ source('legacy', 'contacts') }}
where account_id in (select account_id from {{ ref('accounts') }})
