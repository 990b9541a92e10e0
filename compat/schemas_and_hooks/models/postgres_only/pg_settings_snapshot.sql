select name, setting
from pg_catalog.pg_settings
where name in ('server_version', 'timezone')
