#!/usr/bin/env bash
# THE demo of mfb: build the MFB screening-analytics project at the repository root
# (seeds, staging views, marts, tests) into PostgreSQL, then generate its docs.
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

if "$MFB_BIN" build --help >/dev/null 2>&1; then
  say "$MFB_BIN build --project-dir . --profiles-dir ."
  start=$SECONDS
  "$MFB_BIN" build --project-dir . --profiles-dir .
  echo "build finished in $((SECONDS - start))s"

  say "$MFB_BIN docs generate --project-dir . --profiles-dir ."
  docs_ok=1
  "$MFB_BIN" docs generate --project-dir . --profiles-dir . || docs_ok=0

  say "done"
  echo "Tables and views: schemas ${MFB_SCHEMA:-analytics}_raw, _staging, _intermediate, _marts, e.g."
  echo "  psql -h ${PGHOST:-127.0.0.1} -p ${PGPORT:-5432} -U ${PGUSER:-postgres} ${PGDATABASE:-postgres} -c 'select * from ${MFB_SCHEMA:-analytics}_marts.mart_screener_funnel limit 10'"
  if [ "$docs_ok" = 1 ]; then
    echo "Docs: open $(pwd)/target/index.html in a browser (or run: $MFB_BIN docs serve --project-dir . --profiles-dir .)"
  else
    echo "Docs: generation failed (see above); once it works, the site is $(pwd)/target/index.html"
  fi
else
  # This mfb has no `build` (models + tests together) yet: load the seeds and build the
  # models into PostgreSQL with `seed` and `run`, and say so.
  say "this mfb has no 'build' yet (tests are the next milestone): running 'seed' then 'run'"
  start=$SECONDS
  "$MFB_BIN" seed --project-dir . --profiles-dir .
  "$MFB_BIN" run --project-dir . --profiles-dir .
  echo "seed + run finished in $((SECONDS - start))s"
  say "done"
  echo "Tables and views: schemas ${MFB_SCHEMA:-analytics}_raw, _staging, _intermediate, _marts, e.g."
  echo "  psql -h ${PGHOST:-127.0.0.1} -p ${PGPORT:-5432} -U ${PGUSER:-postgres} ${PGDATABASE:-postgres} -c 'select * from ${MFB_SCHEMA:-analytics}_marts.mart_screener_funnel limit 10'"
  echo "Compiled SQL (identical to dbt-core 1.10's for this project): $(pwd)/target/compiled/mfb/"
fi
if [ -n "$pg_dir" ]; then
  echo "The throwaway PostgreSQL keeps running for you to explore. Stop it with:"
  echo "  scripts/pg.sh stop $pg_dir && rm -rf $pg_dir"
fi
