#!/usr/bin/env bash
# RLS overhead: a tenant's aggregate query through each policy mode against the owner's
# query with an explicit `where tenant_id = X`.
#
#   PGHOST=127.0.0.1 PGPORT=55432 PGUSER=postgres scripts/rls-bench.sh
#
# Uses the running server named by the PG* variables (PGUSER must be able to create
# databases and roles; a superuser is simplest). It creates the database mfb_rls_bench,
# 50 roles mfb_bench_t1 .. mfb_bench_t50, and an mfb project in a temporary directory
# with tenants.yml (50 tenants) and three models of ROWS rows (default 1,000,000; rows
# of one tenant stored together, as a table loaded or clustered per tenant is), one per
# mode: role_map, session_setting and expression (`{column} = {tenant}`). mfb builds them
# (policy, tenant index, grants), then for each mode the script prints the plans of
#
#   tenant: set role mfb_bench_t<T>; select count(*), sum(amount) from bench.t_<mode>
#   owner:  select count(*), sum(amount) from bench.t_<mode> where tenant_id = <T>
#
# and times RUNS interleaved pairs (default 51, after 5 warm-up pairs) with
# `explain (analyze, timing off)`: planning + execution time on the server. It reports the
# medians and their ratio, and exits 1 if a tenant plan lacks an index scan on tenant_id
# or a ratio exceeds 1.2. The database and roles are dropped at the end (KEEP=1 keeps them).
#
# Environment: MFB (the mfb binary; default target/release/mfb or target/debug/mfb,
# built if neither exists), ROWS,
# TENANTS (default 50), TENANT (the tenant measured, default 17), RUNS, KEEP.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$(pwd)

ROWS=${ROWS:-1000000}
TENANTS=${TENANTS:-50}
TENANT=${TENANT:-17}
RUNS=${RUNS:-51}
WARMUP=5
DB=mfb_rls_bench
ROLE_PREFIX=mfb_bench_t
MODES=(role_map session_setting expression)

: "${PGHOST:?set PGHOST (and PGPORT, PGUSER) to the server to measure on}"
export PGHOST PGPORT="${PGPORT:-5432}" PGUSER="${PGUSER:-postgres}"
admin_db=${PGDATABASE:-postgres}

# mfb only builds the tables here; the timings are PostgreSQL's, so a debug build will do.
if [ -z "${MFB:-}" ]; then
  for candidate in "$repo/target/release/mfb" "$repo/target/debug/mfb"; do
    [ -x "$candidate" ] && MFB=$candidate && break
  done
fi
if [ -z "${MFB:-}" ]; then
  echo "rls-bench: building mfb (cargo build -p mfb-cli)" >&2
  cargo build -p mfb-cli >&2
  MFB=$repo/target/debug/mfb
fi

psql_admin() { psql -X -v ON_ERROR_STOP=1 -qAt -d "$admin_db" "$@"; }
psql_bench() { psql -X -v ON_ERROR_STOP=1 -qAt -d "$DB" "$@"; }

work=$(mktemp -d)
cleanup() {
  if [ -z "${KEEP:-}" ]; then
    psql_admin -c "drop database if exists $DB" >/dev/null 2>&1 || true
    for i in $(seq 1 "$TENANTS"); do
      psql_admin -c "drop role if exists ${ROLE_PREFIX}$i" >/dev/null 2>&1 || true
    done
    rm -rf "$work"
  else
    echo "rls-bench: kept database $DB, roles ${ROLE_PREFIX}*, project $work" >&2
  fi
}
trap cleanup EXIT

psql_admin -c "drop database if exists $DB" >/dev/null
psql_admin -c "create database $DB" >/dev/null

# --- the project ------------------------------------------------------------------------
mkdir -p "$work/models"
cat >"$work/dbt_project.yml" <<EOF
name: rls_bench
profile: rls_bench
models:
  rls_bench:
    +materialized: table
EOF
cat >"$work/profiles.yml" <<EOF
rls_bench:
  target: bench
  outputs:
    bench:
      type: postgres
      host: "$PGHOST"
      port: $PGPORT
      user: "$PGUSER"
      password: "${PGPASSWORD:-}"
      dbname: $DB
      schema: bench
      threads: 3
EOF
{
  echo "settings:"
  echo "  schemas: [bench]"
  echo "tenants:"
  for i in $(seq 1 "$TENANTS"); do
    echo "  - id: $i"
    echo "    roles: [${ROLE_PREFIX}$i]"
  done
} >"$work/tenants.yml"
rows_sql="select g as id, 1 + (g - 1) * $TENANTS / $ROWS as tenant_id, (g % 1000)::numeric(12, 2) as amount, md5(g::text) as note
from generate_series(1, $ROWS) g"
for mode in "${MODES[@]}"; do
  extra=""
  [ "$mode" = expression ] && extra=", 'expression': '{column} = {tenant}'"
  cat >"$work/models/t_$mode.sql" <<EOF
{{ config(rls={'tenant_column': 'tenant_id', 'mode': '$mode'$extra}) }}
$rows_sql
EOF
done

echo "rls-bench: $ROWS rows, $TENANTS tenants, tenant $TENANT, $RUNS runs per query; $("$MFB" --version)"
echo "rls-bench: server: $(psql_admin -c 'show server_version')"
# Roles without passwords (the script uses SET ROLE): silence those warnings.
if ! "$MFB" tenants provision --project-dir "$work" --profiles-dir "$work" -q 2>"$work/provision.log"; then
  cat "$work/provision.log" >&2
  exit 1
fi
start=$(date +%s.%N)
"$MFB" run --project-dir "$work" --profiles-dir "$work" -q
end=$(date +%s.%N)
echo "rls-bench: mfb run (3 tables, policies, indexes): $(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }') s"
for mode in "${MODES[@]}"; do
  psql_bench -c "vacuum analyze bench.t_$mode"
done

tenant_q() { echo "select count(*), sum(amount) from bench.t_$1"; }
owner_q() { echo "select count(*), sum(amount) from bench.t_$1 where tenant_id = $TENANT"; }
as_tenant="set role ${ROLE_PREFIX}$TENANT; set app.tenant_id = '$TENANT';"

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

status=0
report=""
for mode in "${MODES[@]}"; do
  echo
  echo "== $mode"
  explain="explain (analyze, buffers, costs off, timing off, summary off)"
  plan_t=$(psql_bench -c "$as_tenant" -c "$explain $(tenant_q "$mode")")
  plan_o=$(psql_bench -c "$explain $(owner_q "$mode")")
  echo "-- tenant plan:"; echo "$plan_t"
  echo "-- owner plan:"; echo "$plan_o"
  check=$(psql_bench -c "$as_tenant" -c "$(tenant_q "$mode")")
  expect=$(psql_bench -c "$(owner_q "$mode")")
  if [ "$check" != "$expect" ]; then
    echo "FAIL: the tenant sees $check, the owner's filtered query gives $expect"
    status=1
  fi
  if ! grep -Eq 'Index (Only )?Scan using .*|Bitmap Index Scan on ' <<<"$plan_t" ||
     ! grep -q 'Index Cond: (tenant_id = ' <<<"$plan_t"; then
    echo "FAIL: no index scan on tenant_id in the tenant's plan"
    status=1
  fi

  # Interleaved pairs in one session: both queries see the same cache and load.
  sql=$work/$mode.sql
  : >"$sql"
  # Which of the two goes first alternates, so neither always finds the other's pages warm.
  for i in $(seq 1 $((WARMUP + RUNS))); do
    tenant_part="$as_tenant
\\echo T$i
explain (analyze, timing off) $(tenant_q "$mode");
reset role; reset app.tenant_id;"
    owner_part="\\echo O$i
explain (analyze, timing off) $(owner_q "$mode");"
    if [ $((i % 2)) -eq 0 ]; then
      printf '%s\n%s\n' "$tenant_part" "$owner_part" >>"$sql"
    else
      printf '%s\n%s\n' "$owner_part" "$tenant_part" >>"$sql"
    fi
  done
  out=$(psql_bench -f "$sql")
  times() {
    awk -v tag="$1" -v warm="$WARMUP" '
      /^[TO][0-9]+$/ { cur = substr($0, 1, 1); n = substr($0, 2) + 0; next }
      /Planning Time:/ { p = $3 }
      /Execution Time:/ { if (cur == tag && n > warm) print p + $3 }
    ' <<<"$out"
  }
  t=$(times T | median)
  o=$(times O | median)
  ratio=$(awk -v t="$t" -v o="$o" 'BEGIN { printf "%.3f", t / o }')
  verdict=ok
  if awk -v r="$ratio" 'BEGIN { exit !(r > 1.2) }'; then
    verdict="OVER 1.2x"
    status=1
  fi
  scan=$(grep -Eo '(Bitmap Index Scan|Index Only Scan|Index Scan)' <<<"$plan_t" | head -1)
  # The pages each read (the top node's count is the query's): the same work, or not.
  pages() { grep -m1 'Buffers: shared' | grep -Eo '(hit|read)=[0-9]+' | awk -F= '{ n += $2 } END { print n + 0 }'; }
  bt=$(pages <<<"$plan_t")
  bo=$(pages <<<"$plan_o")
  echo "-- median ms: tenant $t, owner $o, ratio $ratio ($verdict); buffers: tenant $bt, owner $bo"
  report+="| $mode | $scan | $bt / $bo | $t | $o | $ratio | $verdict |"$'\n'
done

echo
echo "| mode | tenant plan | pages read, tenant / owner | tenant median ms | owner median ms | ratio | within 1.2x |"
echo "|---|---|---|---|---|---|---|"
printf '%s' "$report"
exit $status
