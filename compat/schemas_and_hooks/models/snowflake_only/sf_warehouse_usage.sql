select * from snowflake.account_usage.warehouse_metering_history
