# Shared by compat/refresh-expected.sh and scripts/compat-check.sh (sourced, not run).
#
# Both compile the fixture projects against a fresh throwaway PostgreSQL cluster, so
# that no relation exists yet (is_incremental() is false, introspection is repeatable).
# The compiled SQL names the database, so the connection is pinned to the values the
# expected files were made with: host 127.0.0.1, user postgres, database postgres.

compat_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_dir=$(cd "$compat_dir/.." && pwd)

# Fixture projects: every directory of compat/ holding a dbt_project.yml.
compat_projects() {
  local d
  for d in "$compat_dir"/*/; do
    [ -f "$d/dbt_project.yml" ] && basename "$d"
  done
}

# Name of the project's own package, from `name:` in its dbt_project.yml.
compat_project_name() {
  sed -n 's/^name:[[:space:]]*["'\'']\{0,1\}\([A-Za-z0-9_]*\).*/\1/p' "$compat_dir/$1/dbt_project.yml" | head -1
}

# Starts a throwaway cluster (port COMPAT_PG_PORT, or a free one) and exports the PG*
# variables the fixtures' profiles.yml read. Stopped by compat_stop_pg (set as EXIT trap).
compat_start_pg() {
  compat_pg_dir=$(mktemp -d "${TMPDIR:-/tmp}/mfb-compat-pg.XXXXXX")
  local url
  url=$("$repo_dir/scripts/pg.sh" start "$compat_pg_dir" ${COMPAT_PG_PORT:-}) || {
    echo "compat: could not start PostgreSQL (scripts/pg.sh start $compat_pg_dir ${COMPAT_PG_PORT:-})" >&2
    return 1
  }
  export PGHOST=127.0.0.1 PGUSER=postgres PGDATABASE=postgres PGPASSWORD=
  PGPORT=${url##*:}
  PGPORT=${PGPORT%%/*}
  export PGPORT
  # the fixtures read env_var('COMPAT_REGION', 'eu-west'): the default is what is expected
  unset COMPAT_REGION
}

compat_stop_pg() {
  if [ -n "${compat_pg_dir:-}" ]; then
    "$repo_dir/scripts/pg.sh" stop "$compat_pg_dir" || true
    rm -rf "$compat_pg_dir"
  fi
}

# Every table, view and materialized view of database $1 outside the system schemas, one
# line each: `schema.name <TAB> relkind <TAB> columns with types <TAB> rows <TAB> digest`,
# sorted. The digest is the md5 of the rows as JSON, sorted, without the snapshot columns
# whose values depend on the wall clock (dbt_valid_from, dbt_valid_to, dbt_updated_at,
# dbt_scd_id).
compat_digest() {
  local db=$1 rel kind cols rows
  psql -XAtq -d "$db" -F $'\t' -c "
    select format('%I.%I', n.nspname, c.relname), c.relkind
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where c.relkind in ('r', 'v', 'm', 'p')
      and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg\\_%'
    order by 1" |
  while IFS=$'\t' read -r rel kind; do
    cols=$(psql -XAtq -d "$db" -c "
      select string_agg(attname || ' ' || format_type(atttypid, atttypmod), ', ' order by attnum)
      from pg_attribute where attrelid = '$rel'::regclass and attnum > 0 and not attisdropped")
    rows=$(psql -XAtq -d "$db" -F $'\t' -c "
      select count(*), coalesce(md5(string_agg(r, E'\n' order by r)), '-')
      from (select (to_jsonb(t) - 'dbt_valid_from' - 'dbt_valid_to' - 'dbt_updated_at' - 'dbt_scd_id')::text as r
            from $rel t) s")
    printf '%s\t%s\t%s\t%s\n' "$rel" "$kind" "$cols" "$rows"
  done
}

# The results of a run_results.json ($1): `unique_id <TAB> status <TAB> failures`, sorted;
# hooks (operation.*) left out.
compat_results() {
  python3 - "$1" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
rows = sorted(
    f"{r['unique_id']}\t{r['status']}\t{r.get('failures')}"
    for r in doc["results"] if not r["unique_id"].startswith("operation.")
)
print("\n".join(rows))
PY
}

# Runs `seed`, then `build` twice (the second run takes the incremental paths), of project
# $2 with the tool $1 (dbt or mfb) into database $3, target path $4; exit codes are ignored
# (failing tests are part of the oracle).
compat_build() {
  local tool=$1 p=$2 db=$3 target=$4 dir="$compat_dir/$2" extra=()
  [ "$(basename "$tool")" = dbt ] && extra=(--no-send-anonymous-usage-stats)
  psql -XAtq -d postgres -c "drop database if exists $db" -c "create database $db" >/dev/null
  (cd "$dir" && PGDATABASE=$db "$tool" "${extra[@]}" seed --project-dir "$dir" --profiles-dir "$dir" --target-path "$target" &&
     PGDATABASE=$db "$tool" "${extra[@]}" build --project-dir "$dir" --profiles-dir "$dir" --target-path "$target"
     PGDATABASE=$db "$tool" "${extra[@]}" build --project-dir "$dir" --profiles-dir "$dir" --target-path "$target") || true
}
