{#-
  Row-level security helpers in the style of the macros multi-tenant dbt projects carry.

  With mfb, the marts' `+rls` config in dbt_project.yml does what setup_white_label_rls
  does, inside the build transaction, and the isolation tests prove it; the macro stays for
  projects migrating from the post-hook convention (tenants.yml lists it under
  `enforce.satisfied_by`) and for running this project with dbt-core:

      {{ config(post_hook="{{ setup_white_label_rls() }}") }}
-#}
{% macro setup_white_label_rls(relation=none, tenant_column='white_label_id', setting='app.white_label_id') -%}
    {%- set relation = relation or this -%}
    alter table {{ relation }} enable row level security;
    drop policy if exists white_label_isolation on {{ relation }};
    create policy white_label_isolation on {{ relation }} for select
        using ({{ adapter.quote(tenant_column) }} = nullif(current_setting('{{ setting }}', true), '')::integer)
{%- endmacro %}

{#-
  Creates (or updates) a login role that reads one white label's rows of the marts:

      mfb run-operation create_rls_user --args '{white_label: co, user: analyst_co_jane, password_env: JANE_PASSWORD}'

  The role gets the white label's id in mfb's role map (the marts use role_map RLS), its
  session setting, USAGE on the marts schema, SELECT on the marts and on marts built later.
  The password is read from the environment variable `password_env`, never from --args;
  without one the role cannot log in with a password.
  Roles that should outlive the next `mfb tenants provision` belong in tenants.yml:
  provisioning removes role-map rows of roles it does not list.
-#}
{% macro create_rls_user(white_label, user, password_env=none) -%}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- set code = (white_label | string | lower) -%}
    {%- set labels = ref('stg_white_labels') -%}
    {%- set found = run_query("select white_label_id from " ~ labels ~ " where white_label_code = '" ~ (code | replace("'", "''")) ~ "' or white_label_id::text = '" ~ (code | replace("'", "''")) ~ "'") -%}
    {%- if found.rows | length != 1 -%}
        {{ exceptions.raise_compiler_error("create_rls_user: no white label '" ~ code ~ "' in " ~ labels ~ "; use a code (co, nc, ...) or an id; run `mfb seed` and `mfb run` first") }}
    {%- endif -%}
    {%- set white_label_id = found.rows[0][0] -%}
    {%- set role = adapter.quote(user) -%}
    {%- set marts = ref('dim_white_labels').schema -%}
    {%- set exists = run_query("select 1 from pg_catalog.pg_roles where rolname = '" ~ (user | replace("'", "''")) ~ "'") -%}
    {%- if exists.rows | length == 0 -%}
        {% do run_query("create role " ~ role ~ " login") %}
    {%- else -%}
        {% do run_query("alter role " ~ role ~ " login") %}
    {%- endif -%}
    {%- if password_env -%}
        {% do run_query("alter role " ~ role ~ " password '" ~ (env_var(password_env) | replace("'", "''")) ~ "'") %}
    {%- endif -%}
    {% do run_query("alter role " ~ role ~ " set app.white_label_id = '" ~ white_label_id ~ "'") %}
    {% do run_query("insert into mfb_tenancy.mfb_tenant_roles (role_name, tenant_id) values ('" ~ (user | replace("'", "''")) ~ "', '" ~ white_label_id ~ "') on conflict (role_name) do update set tenant_id = excluded.tenant_id") %}
    {% do run_query("grant usage on schema " ~ adapter.quote(marts) ~ " to " ~ role) %}
    {% do run_query("grant select on all tables in schema " ~ adapter.quote(marts) ~ " to " ~ role) %}
    {% do run_query("alter default privileges in schema " ~ adapter.quote(marts) ~ " grant select on tables to " ~ role) %}
    {{ log("create_rls_user: " ~ user ~ " reads white label " ~ code ~ " (id " ~ white_label_id ~ ") in " ~ marts, info=true) }}
{%- endmacro %}
