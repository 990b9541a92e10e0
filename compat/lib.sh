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
