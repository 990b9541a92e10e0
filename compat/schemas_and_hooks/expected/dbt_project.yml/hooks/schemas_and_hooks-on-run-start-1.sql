insert into analytics_audit.run_log (event)
    values ('models: account_versions,dim_accounts,dim_accounts,dim_users,fct_events,pg_settings_snapshot,stg_events,stg_users,user_summary')
