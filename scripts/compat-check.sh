#!/usr/bin/env bash
# Compiles each compat/ fixture project with mfb and compares every compiled file with
# dbt-core's output stored in compat/<project>/expected/ (see compat/README.md).
#
#   scripts/compat-check.sh [PROJECT...]     default: every project under compat/
#
# MFB=path/to/mfb selects the binary (default target/debug/mfb, from the repo root).
# A fresh throwaway PostgreSQL cluster is started for the run (COMPAT_PG_PORT pins its
# port); COMPAT_KEEP=1 keeps mfb's target directories and prints where they are.
#
# Files are compared with runs of whitespace collapsed to one space and the ends trimmed.
# One line per file: OK, DIFF (with the first differing excerpt), MISSING (expected but
# not written by mfb) or EXTRA (written by mfb, absent from dbt's output, e.g. a disabled
# node); a non-zero exit of mfb compile counts as one more failure. Last line:
# `N passed, M failed`. Exit 0 when all pass, 1 on any failure, 2 when
# the check itself cannot run.
set -uo pipefail
source "$(dirname "$0")/../compat/lib.sh"

MFB=${MFB:-target/debug/mfb}
case "$MFB" in /*) ;; *) MFB="$repo_dir/$MFB" ;; esac
if [ ! -x "$MFB" ]; then
  echo "compat-check: no mfb binary at $MFB; build it with 'cargo build -p mfb-cli' or set MFB" >&2
  exit 2
fi

if [ $# -gt 0 ]; then projects=("$@"); else mapfile -t projects < <(compat_projects); fi

work=$(mktemp -d "${TMPDIR:-/tmp}/mfb-compat-check.XXXXXX")
if [ "${COMPAT_KEEP:-0}" = 1 ]; then
  trap 'compat_stop_pg; echo "compat-check: outputs kept in $work"' EXIT
else
  trap 'compat_stop_pg; rm -rf "$work"' EXIT
fi
compat_start_pg || exit 2

passed=0
failed=0

# Whitespace-normalised text of a file: runs of blanks/newlines become one space, ends trimmed.
normalise() {
  tr -s ' \t\r\n' '    ' <"$1" | sed -e 's/^ //' -e 's/ $//'
}

# Prints the region around the first difference of two normalised texts.
show_difference() {
  local a=$1 b=$2 at start
  at=$(cmp "$a" "$b" 2>/dev/null | sed -n 's/.* byte \([0-9]*\),.*/\1/p')
  [ -n "$at" ] || at=$(($(wc -c <"$a") + 1))
  start=$((at > 60 ? at - 60 : 1))
  echo "    at character $at"
  echo "    dbt: ...$(tail -c +"$start" "$a" | head -c 160)..."
  echo "    mfb: ...$(tail -c +"$start" "$b" | head -c 160)..."
}

# compare LABEL EXPECTED_FILE ACTUAL_FILE
compare() {
  local label=$1 expected=$2 actual=$3
  if [ ! -f "$actual" ]; then
    echo "MISSING $label"
    failed=$((failed + 1))
    return
  fi
  normalise "$expected" >"$work/expected.txt"
  normalise "$actual" >"$work/actual.txt"
  if cmp -s "$work/expected.txt" "$work/actual.txt"; then
    echo "OK      $label"
    passed=$((passed + 1))
  else
    echo "DIFF    $label"
    show_difference "$work/expected.txt" "$work/actual.txt"
    failed=$((failed + 1))
  fi
}

for p in "${projects[@]}"; do
  dir="$compat_dir/$p"
  if [ ! -d "$dir/expected" ]; then
    echo "compat-check: compat/$p has no expected/ (run compat/refresh-expected.sh $p)" >&2
    exit 2
  fi
  name=$(compat_project_name "$p")
  target="$work/$p/target"
  mkdir -p "$work/$p"
  if ! (cd "$dir" && "$MFB" compile --project-dir "$dir" --profiles-dir "$dir" --target-path "$target") \
      >"$work/$p/mfb.log" 2>&1; then
    echo "FAIL    $p: mfb compile exited non-zero; its output:"
    failed=$((failed + 1))
    sed 's/^/    /' "$work/$p/mfb.log" | head -40
  fi
  compiled="$target/compiled"

  # every expected file: the project's own under expected/, packages under expected/packages/<pkg>/
  while IFS= read -r rel; do
    case "$rel" in
      packages/*)
        rest=${rel#packages/}
        compare "$p/$rel" "$dir/expected/$rel" "$compiled/$rest"
        ;;
      *)
        compare "$p/$rel" "$dir/expected/$rel" "$compiled/$name/$rel"
        ;;
    esac
  done < <(cd "$dir/expected" && find . -type f | sed 's|^\./||' | sort)

  # files mfb wrote that dbt did not
  if [ -d "$compiled" ]; then
    while IFS= read -r rel; do
      pkg=${rel%%/*}
      inner=${rel#*/}
      if [ "$pkg" = "$name" ]; then want="$dir/expected/$inner"; else want="$dir/expected/packages/$rel"; fi
      if [ ! -f "$want" ]; then
        echo "EXTRA   $p/compiled/$rel"
        failed=$((failed + 1))
      fi
    done < <(cd "$compiled" && find . -type f | sed 's|^\./||' | sort)
  fi
done

# What `seed` + `build` + `build` leaves in the database, for projects with built/ (made
# by compat/refresh-built.sh from dbt-core): same relations, columns, types and rows, and
# the same outcome for every node.
for p in "${projects[@]}"; do
  dir="$compat_dir/$p"
  [ -d "$dir/built" ] || continue
  db="compat_mfb_$p"
  compat_build "$MFB" "$p" "$db" "$work/$p/build-target" >"$work/$p/build.log" 2>&1
  compat_digest "$db" >"$work/$p/relations.tsv"
  if [ -f "$work/$p/build-target/run_results.json" ]; then
    compat_results "$work/$p/build-target/run_results.json" >"$work/$p/results.tsv"
  else
    : >"$work/$p/results.tsv"
  fi
  # relations: an `unstable` digest in the oracle compares the row count only
  if awk -F'\t' -v OFS='\t' 'NR == FNR { if ($5 == "unstable") u[$1] = 1; next } { if ($1 in u) $5 = "unstable"; print }' \
       "$dir/built/relations.tsv" "$work/$p/relations.tsv" | diff -u "$dir/built/relations.tsv" - >"$work/$p/relations.diff"; then
    echo "OK      $p/built/relations ($(wc -l <"$dir/built/relations.tsv") relations)"
    passed=$((passed + 1))
  else
    echo "DIFF    $p/built/relations (- dbt, + mfb):"
    grep '^[-+][^-+]' "$work/$p/relations.diff" | cut -c1-220 | sed 's/^/    /' | head -20
    failed=$((failed + 1))
  fi
  if diff -u "$dir/built/results.tsv" "$work/$p/results.tsv" >"$work/$p/results.diff"; then
    echo "OK      $p/built/results ($(wc -l <"$dir/built/results.tsv") nodes)"
    passed=$((passed + 1))
  else
    echo "DIFF    $p/built/results (- dbt, + mfb):"
    grep '^[-+][^-+]' "$work/$p/results.diff" | sed 's/^/    /' | head -20
    sed 's/^/    | /' "$work/$p/build.log" | grep -i "error" | head -10
    failed=$((failed + 1))
  fi
done

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
