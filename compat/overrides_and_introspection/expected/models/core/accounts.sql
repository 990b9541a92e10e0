

-- model accounts (model.overrides_and_introspection.accounts), materialized as view
-- owner data-platform, pii True
-- quoted column "AccountName"
select
    a.id as account_id,
    a."AccountName" as account_name,
    c.code as country_code
from "postgres"."legacy_crm"."Accounts" as a
left join "ovr"."countries" as c
    on c.code = a.country