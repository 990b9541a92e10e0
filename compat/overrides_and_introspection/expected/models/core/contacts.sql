-- accounts columns known at compile time: 0
-- notes relation: "postgres"."legacy_crm"."contact_notes" / legacy_crm.contact_notes
select
    contact_id,
    account_id,
    email
from "postgres"."legacy_crm"."contacts"
where account_id in (select account_id from "ovr"."accounts")