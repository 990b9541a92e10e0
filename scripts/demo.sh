#!/usr/bin/env bash
# THE demo of mfb: build the MFB screening-analytics project at the repository root
# (seeds, staging views, marts, tests) into PostgreSQL with `mfb build`, then generate its
# docs when this mfb has a docs site.
#
#   scripts/demo.sh
#
# Environment:
#   MFB_BIN         the binary to run (default: target/release/mfb, built first)
#   SKIP_BUILD=1    do not run `cargo build --release -p mfb-cli`
#   PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE, MFB_SCHEMA
#                   where to build (read by ./profiles.yml). With PGHOST unset and no
#                   ~/.dbt/profiles.yml, a throwaway PostgreSQL is started for the demo.
#   MFB_DEMO_PORT   port of that throwaway server (default 55441)
#
# With a dbt installation, `MFB_BIN=dbt SKIP_BUILD=1 scripts/demo.sh` runs the same flow
# with dbt-core, for comparison.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { printf '\n==> %s\n' "$*"; }

MFB_BIN=${MFB_BIN:-target/release/mfb}

if [ -z "${SKIP_BUILD:-}" ]; then
  say "building mfb (cargo build --release -p mfb-cli)"
  cargo build --release -p mfb-cli
fi
if ! command -v "$MFB_BIN" >/dev/null 2>&1 && [ ! -x "$MFB_BIN" ]; then
  echo "scripts/demo.sh: $MFB_BIN is not an executable; build it (drop SKIP_BUILD) or set MFB_BIN" >&2
  exit 2
fi

pg_dir=""
if [ -z "${PGHOST:-}" ] && [ ! -f "$HOME/.dbt/profiles.yml" ]; then
  pg_dir=${TMPDIR:-/tmp}/mfb-demo-pg
  port=${MFB_DEMO_PORT:-55441}
  say "starting a throwaway PostgreSQL in $pg_dir on port $port"
  url=$(bash scripts/pg.sh start "$pg_dir" "$port")
  echo "$url"
  export PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres PGDATABASE=postgres
  unset PGPASSWORD
fi
echo "building into ${PGUSER:-postgres}@${PGHOST:-127.0.0.1}:${PGPORT:-5432}/${PGDATABASE:-postgres}, schemas ${MFB_SCHEMA:-analytics}_*"

# The marts are protected by RLS: create the white labels' roles (tenants.yml) first, so
# the build's rls_isolation_* checks can read as each of them.
if "$MFB_BIN" tenants --help >/dev/null 2>&1; then
  say "$MFB_BIN tenants provision --project-dir . --profiles-dir ."
  "$MFB_BIN" tenants provision --project-dir . --profiles-dir .
fi

say "$MFB_BIN build --project-dir . --profiles-dir ."
start=$SECONDS
build_status=0
"$MFB_BIN" build --project-dir . --profiles-dir . || build_status=$?
echo "build finished in $((SECONDS - start))s (exit $build_status)"

say "done"
echo "Tables and views: schemas ${MFB_SCHEMA:-analytics}_raw, _staging, _intermediate, _marts, e.g."
echo "  psql -h ${PGHOST:-127.0.0.1} -p ${PGPORT:-5432} -U ${PGUSER:-postgres} ${PGDATABASE:-postgres} -c 'select * from ${MFB_SCHEMA:-analytics}_marts.mart_screener_funnel limit 10'"
echo "Each white label's role sees only its rows (row-level security), e.g."
echo "  psql -h ${PGHOST:-127.0.0.1} -p ${PGPORT:-5432} -U ${PGUSER:-postgres} ${PGDATABASE:-postgres} -c 'set role wl_co' -c 'select count(*) from ${MFB_SCHEMA:-analytics}_marts.fct_screens'"
echo "Artifacts: $(pwd)/target/run_results.json, $(pwd)/target/manifest.json, SQL as run in $(pwd)/target/run/"
if "$MFB_BIN" docs --help >/dev/null 2>&1; then
  say "$MFB_BIN docs generate --project-dir . --profiles-dir ."
  if "$MFB_BIN" docs generate --project-dir . --profiles-dir .; then
    if [ -f target/index.html ]; then
      echo "Docs: open $(pwd)/target/index.html in a browser (or run: $MFB_BIN docs serve --project-dir . --profiles-dir .)"
    else
      echo "Docs: the site is not built yet; the catalog is in $(pwd)/target/catalog.json"
    fi
  else
    echo "Docs: generation failed (see above)"
  fi
else
  echo "Docs: this mfb has no docs site yet (docs/compatibility.md lists what works)"
fi
if [ -n "$pg_dir" ]; then
  echo "The throwaway PostgreSQL keeps running for you to explore. Stop it with:"
  echo "  scripts/pg.sh stop $pg_dir && rm -rf $pg_dir"
fi
