#!/usr/bin/env bash
# Regenerates compat/<project>/built/ from dbt-core: what `dbt seed && dbt build` leaves in
# the database (every relation's columns, types, row count and a digest of its rows) and
# each node's outcome (run_results.json status and failures). scripts/compat-check.sh
# builds the same project with mfb and compares both.
#
#   compat/refresh-built.sh PROJECT...
#
# Only projects given here (and so holding built/) are build-checked. dbt builds each
# project twice into two databases: a relation whose digest differs between the two (rows
# computed from the clock) is recorded with digest `unstable`, and only its row count is
# compared. Requires dbt-core 1.10 + dbt-postgres in /opt/dbt-venv (or DBT=...).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

DBT=${DBT:-/opt/dbt-venv/bin/dbt}
[ -x "$DBT" ] || { echo "refresh-built: no dbt at $DBT" >&2; exit 2; }
[ $# -gt 0 ] || { echo "usage: compat/refresh-built.sh PROJECT..." >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/mfb-compat-built.XXXXXX")
trap 'compat_stop_pg; rm -rf "$work"' EXIT
compat_start_pg
for p in "$@"; do
  dir="$compat_dir/$p"
  echo "== $p"
  for i in 1 2; do
    compat_build "$DBT" "$p" "compat_built_$i" "$work/$p-$i/target" >"$work/$p-$i.log" 2>&1
    compat_digest "compat_built_$i" >"$work/$p-$i.tsv"
  done
  mkdir -p "$dir/built"
  # Rows of relations whose digest changed between the two builds depend on the clock.
  awk -F'\t' -v OFS='\t' 'NR == FNR { d[$1] = $5; next } { if (d[$1] != $5) $5 = "unstable"; print }' \
    "$work/$p-2.tsv" "$work/$p-1.tsv" >"$dir/built/relations.tsv"
  compat_results "$work/$p-1/target/run_results.json" >"$dir/built/results.tsv"
  rm -f "$dir/.user.yml"
  echo "   $(wc -l <"$dir/built/relations.tsv") relations, $(wc -l <"$dir/built/results.tsv") results"
  grep -c unstable "$dir/built/relations.tsv" | sed 's/^/   unstable: /' || true
done
