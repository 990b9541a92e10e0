
create schema if not exists analytics_audit;
create table if not exists analytics_audit.run_log (
    event text,
    logged_at timestamp default now()
)
