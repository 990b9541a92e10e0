#!/usr/bin/env bash
# Regenerates compat/<project>/expected/ from dbt-core's own `dbt compile` output: the
# oracle that scripts/compat-check.sh compares mfb against.
#
# Requires dbt-core 1.10 with dbt-postgres in /opt/dbt-venv (or set DBT=/path/to/dbt) and
# PostgreSQL server binaries (scripts/pg.sh finds or installs them). A fresh throwaway
# cluster is started for the run and removed afterwards (COMPAT_PG_PORT pins its port).
#
#   compat/refresh-expected.sh [PROJECT...]     default: every project under compat/
#
# Layout written: nodes of the project itself at expected/<path under
# target/compiled/<project>/>; nodes of an installed package P at expected/packages/P/.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

DBT=${DBT:-/opt/dbt-venv/bin/dbt}
[ -x "$DBT" ] || { echo "refresh-expected: no dbt at $DBT; install dbt-core 1.10 + dbt-postgres in /opt/dbt-venv or set DBT" >&2; exit 2; }

if [ $# -gt 0 ]; then projects=("$@"); else mapfile -t projects < <(compat_projects); fi

work=$(mktemp -d "${TMPDIR:-/tmp}/mfb-compat-dbt.XXXXXX")
trap 'compat_stop_pg; rm -rf "$work"' EXIT
compat_start_pg
echo "refresh-expected: PostgreSQL on 127.0.0.1:$PGPORT"

for p in "${projects[@]}"; do
  dir="$compat_dir/$p"
  [ -f "$dir/dbt_project.yml" ] || { echo "refresh-expected: $dir has no dbt_project.yml" >&2; exit 2; }
  name=$(compat_project_name "$p")
  out="$work/$p"
  echo "== $p (dbt project '$name')"
  if ! (cd "$dir" && "$DBT" --no-send-anonymous-usage-stats compile --no-partial-parse \
        --project-dir "$dir" --profiles-dir "$dir" --target-path "$out/target" --log-path "$out/logs" \
        >"$out.log" 2>&1); then
    cat "$out.log" >&2
    echo "refresh-expected: dbt compile failed for $p" >&2
    exit 1
  fi
  rm -rf "$dir/expected"
  mkdir -p "$dir/expected"
  cp -r "$out/target/compiled/$name/." "$dir/expected/"
  for pkg in "$out/target/compiled"/*/; do
    pkg=$(basename "$pkg")
    [ "$pkg" = "$name" ] && continue
    mkdir -p "$dir/expected/packages/$pkg"
    cp -r "$out/target/compiled/$pkg/." "$dir/expected/packages/$pkg/"
  done
  rm -f "$dir/.user.yml"
  echo "   $(find "$dir/expected" -type f | wc -l) files in compat/$p/expected"
done
