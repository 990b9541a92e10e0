#!/usr/bin/env bash
# Runs a package's integration-test project (e.g. dbt_utils's `integration_tests/`) under
# dbt-core and under mfb, each in a fresh database of one throwaway PostgreSQL cluster, and
# compares every node's outcome: how many of the seeds, models and tests that pass under
# dbt-core also pass under mfb, and which do not.
#
#   scripts/package-it-check.sh PROJECT_DIR [MFB_BINARY]
#
# PROJECT_DIR is copied to a scratch directory first (nothing in it is changed). Its
# profiles.yml is replaced by one pointing at the throwaway cluster; the profile name is
# read from its dbt_project.yml. Each tool runs `deps`, `seed --full-refresh`, `run
# --full-refresh` and `test` (the sequence dbt_utils's CI uses), writing its logs and
# run_results under $OUT (default: target/package-it/<project name>/).
#
# Needs dbt-core 1.10 + dbt-postgres in /opt/dbt-venv (or DBT=...). Nothing here runs in
# CI: the package's code is not part of this repository (see docs/compatibility.md for
# the last recorded figures).
set -euo pipefail
repo_dir=$(cd "$(dirname "$0")/.." && pwd)
[ $# -ge 1 ] || { echo "usage: scripts/package-it-check.sh PROJECT_DIR [MFB_BINARY]" >&2; exit 2; }
src=$(cd "$1" && pwd)
MFB=$(realpath "${2:-$repo_dir/target/release/mfb}")
DBT=${DBT:-/opt/dbt-venv/bin/dbt}
[ -x "$DBT" ] || { echo "package-it-check: no dbt at $DBT" >&2; exit 2; }
[ -x "$MFB" ] || { echo "package-it-check: no mfb at $MFB (cargo build --release)" >&2; exit 2; }
name=$(basename "$(dirname "$src")")-$(basename "$src")
OUT=${OUT:-$repo_dir/target/package-it/$name}
profile=$(sed -n 's/^profile:[[:space:]]*["'\'']\{0,1\}\([A-Za-z0-9_]*\).*/\1/p' "$src/dbt_project.yml" | head -1)

work=$(mktemp -d "${TMPDIR:-/tmp}/mfb-package-it.XXXXXX")
pg="$work/pg"
cleanup() { "$repo_dir/scripts/pg.sh" stop "$pg" >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT
url=$("$repo_dir/scripts/pg.sh" start "$pg")
port=${url##*:}
port=${port%%/*}
rm -rf "$OUT"
mkdir -p "$OUT"

# Both tools build into a database of the same name (relation names that embed the
# database, like union_relations' _dbt_source_relation, then compare equal), one after the
# other; what each left is recorded before the next starts.
source "$repo_dir/compat/lib.sh"
export PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres PGPASSWORD=
db=it_run
for tool in dbt mfb; do
  psql -XAtq -d postgres -c "drop database if exists $db" -c "create database $db"
  # The package sits beside the project (packages.yml says `local: ../`): copy both.
  mkdir -p "$work/$tool"
  cp -r "$(dirname "$src")" "$work/$tool/pkg"
  proj="$work/$tool/pkg/$(basename "$src")"
  rm -rf "$proj/target" "$proj/dbt_packages" "$proj/logs" "$proj/package-lock.yml"
  cat >"$proj/profiles.yml" <<EOF
$profile:
  target: postgres
  outputs:
    postgres:
      type: postgres
      host: 127.0.0.1
      port: $port
      user: postgres
      password: ""
      dbname: $db
      schema: dbt_utils_it
      threads: 4
EOF
  bin=$DBT
  [ "$tool" = mfb ] && bin=$MFB
  for step in "deps" "seed --full-refresh" "run --full-refresh" "test"; do
    word=${step%% *}
    start=$(date +%s.%N)
    # shellcheck disable=SC2086
    (cd "$proj" && "$bin" $step --project-dir . --profiles-dir .) >"$OUT/$tool-$word.log" 2>&1 && rc=0 || rc=$?
    end=$(date +%s.%N)
    printf '%s %-5s exit %s  %.1f s\n' "$tool" "$word" "$rc" "$(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }')" | tee -a "$OUT/summary.txt"
    [ -f "$proj/target/run_results.json" ] && cp "$proj/target/run_results.json" "$OUT/$tool-$word.json"
    rm -f "$proj/target/run_results.json"
  done
  [ -d "$proj/target/run" ] && cp -r "$proj/target/run" "$OUT/$tool-sql"
  compat_digest "$db" >"$OUT/$tool-relations.tsv"
  psql -XAtq -d "$db" -F $'\t' -c "select format('%I.%I', schemaname, tablename) from pg_tables
    where schemaname not in ('pg_catalog', 'information_schema')
    union all select format('%I.%I', schemaname, viewname) from pg_views
    where schemaname not in ('pg_catalog', 'information_schema')" | while read -r rel; do
    mkdir -p "$OUT/$tool-rows"
    psql -XAtq -d "$db" -c "select to_jsonb(t)::text from $rel t order by 1" >"$OUT/$tool-rows/$rel.txt" 2>/dev/null || true
  done
done

# What each tool left in its database: every relation's columns, types, row count and a
# digest of its rows (compat/lib.sh), compared line by line.
if diff "$OUT/dbt-relations.tsv" "$OUT/mfb-relations.tsv" >"$OUT/relations.diff"; then
  echo "relations: $(wc -l <"$OUT/dbt-relations.tsv") in each database, all equal (columns, types, rows)" | tee -a "$OUT/summary.txt"
else
  echo "relations: DIFFER (dbt $(wc -l <"$OUT/dbt-relations.tsv"), mfb $(wc -l <"$OUT/mfb-relations.tsv")); rows in $OUT/{dbt,mfb}-rows/" | tee -a "$OUT/summary.txt"
  head -20 "$OUT/relations.diff" | tee -a "$OUT/summary.txt"
fi

python3 - "$OUT" <<'EOF' | tee -a "$OUT/summary.txt"
import json, os, sys
out = sys.argv[1]
def results(tool):
    r = {}
    for step in ("seed", "run", "test"):
        p = os.path.join(out, f"{tool}-{step}.json")
        if os.path.exists(p):
            for x in json.load(open(p))["results"]:
                r[x["unique_id"]] = (x["status"], (x.get("message") or "").strip().splitlines()[:1])
    return r
dbt, mfb = results("dbt"), results("mfb")
ok = {"success", "pass"}
passing = sorted(k for k, v in dbt.items() if v[0] in ok)
same = [k for k in passing if mfb.get(k, ("missing",))[0] in ok]
kinds = {}
for k in passing:
    kind = k.split(".")[0]
    kinds.setdefault(kind, [0, 0])
    kinds[kind][0] += 1
    kinds[kind][1] += mfb.get(k, ("missing",))[0] in ok
print(f"nodes run by dbt: {len(dbt)}; passing under dbt: {len(passing)}; of those passing under mfb: {len(same)} ({100.0 * len(same) / max(len(passing), 1):.1f}%)")
for kind, (n, m) in sorted(kinds.items()):
    print(f"  {kind}: {m} of {n}")
for k in passing:
    s = mfb.get(k)
    if not s or s[0] not in ok:
        print(f"  NOT PASSING under mfb: {k}: {s[0] if s else 'not run'} {s[1][0][:160] if s and s[1] else ''}")
extra = sorted(k for k in mfb if k not in dbt)
missing = sorted(k for k in dbt if k not in mfb)
print(f"run by mfb only: {len(extra)}; run by dbt only: {len(missing)}")
for k in extra[:20]: print("  mfb only:", k)
for k in missing[:20]: print("  dbt only:", k)
both_fail = [k for k, v in dbt.items() if v[0] not in ok]
print(f"not passing under dbt: {len(both_fail)}")
for k in sorted(both_fail): print(f"  dbt {dbt[k][0]}: {k} -> mfb {mfb.get(k, ('not run',))[0]}")
EOF
