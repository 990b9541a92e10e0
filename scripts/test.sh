#!/usr/bin/env bash
# THE test command of mfb: formatting, lints, every crate's tests against a real
# throwaway PostgreSQL, and the dbt-compatibility check when present.
#
#   scripts/test.sh
#
# Environment:
#   MFB_TEST_PACKAGES      narrow to these crates (space or comma separated), e.g.
#                          MFB_TEST_PACKAGES=mfb-testkit; default: the whole workspace
#   MFB_TEST_DATABASE_URL  use this server instead of starting a throwaway one
#   MFB_TEST_PORT          port for the throwaway server (default: a free one)
#   MFB_SKIP_COMPAT=1      skip scripts/compat-check.sh
#
# Every step runs even when an earlier one failed; the summary lists each step's result
# and the exit code is 1 if any failed.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$(pwd)

say() { printf '\n==> %s\n' "$*"; }
die() { printf 'scripts/test.sh: %s\n' "$*" >&2; exit 2; }

# --- what to check -------------------------------------------------------------------
packages=${MFB_TEST_PACKAGES:-}
packages=${packages//,/ }
scope=(--workspace)
fmt_scope=(--all)
if [ -n "${packages// /}" ]; then
  scope=()
  fmt_scope=()
  for p in $packages; do
    [ -d "crates/$p" ] || die "MFB_TEST_PACKAGES names '$p', but there is no crates/$p"
    scope+=(-p "$p")
    fmt_scope+=(-p "$p")
  done
  echo "scripts/test.sh: narrowed to: $packages (unset MFB_TEST_PACKAGES for the whole workspace)"
fi

# --- tools ---------------------------------------------------------------------------
command -v cargo >/dev/null 2>&1 || die "cargo not found: install Rust from https://rustup.rs, then rerun"
for component in rustfmt clippy; do
  sub=${component/rustfmt/fmt}
  if ! cargo "$sub" --version >/dev/null 2>&1; then
    command -v rustup >/dev/null 2>&1 || die "cargo $sub is missing and there is no rustup to add $component"
    say "installing the $component component"
    rustup component add "$component" || die "rustup could not add $component"
  fi
done

# the docs site's end-to-end tests drive headless Chromium (they fail without it)
if [ -z "${packages// /}" ] || [[ " $packages " == *" mfb-cli "* ]]; then
  say "headless Chromium and chromedriver (installed with apt-get if missing)"
  bash scripts/install-chromium.sh || die "no Chromium/chromedriver and could not install them"
fi

# --- PostgreSQL ----------------------------------------------------------------------
pg_dir=""
cleanup() {
  if [ -n "$pg_dir" ]; then
    bash "$repo/scripts/pg.sh" stop "$pg_dir/data" || true
    rm -rf "$pg_dir"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# the testkit's own tests run scripts/pg.sh even when MFB_TEST_DATABASE_URL is set
say "PostgreSQL server binaries (installed with apt-get if missing)"
bash scripts/pg.sh bindir || die "no PostgreSQL server binaries and could not install them"

if [ -n "${MFB_TEST_DATABASE_URL:-}" ]; then
  echo "scripts/test.sh: using the server in MFB_TEST_DATABASE_URL"
else
  say "starting a throwaway PostgreSQL (scripts/pg.sh)"
  pg_dir=$(mktemp -d "${TMPDIR:-/tmp}/mfb-test-pg.XXXXXX") || die "mktemp failed"
  chmod 755 "$pg_dir"
  url=$(bash scripts/pg.sh start "$pg_dir/data" ${MFB_TEST_PORT:-}) || die "could not start PostgreSQL (see above)"
  export MFB_TEST_DATABASE_URL=$url
  echo "MFB_TEST_DATABASE_URL=$MFB_TEST_DATABASE_URL"
fi

# --- steps ---------------------------------------------------------------------------
results=()
failed=0
step() {
  local name=$1
  shift
  say "$name: $*"
  local start=$SECONDS
  if "$@"; then
    results+=("ok      $name ($((SECONDS - start))s)")
  else
    results+=("FAILED  $name ($((SECONDS - start))s)")
    failed=1
  fi
}

# Dependency arrows from STYLE.md: which of our crates each crate may use (all may use
# mfb-diagnostics), and the outside crates that must stay inside one of ours.
check_layers() {
  declare -A allowed=(
    [mfb-diagnostics]=""
    [mfb-project]=""
    [mfb-sql]=""
    [mfb-graph]="mfb-project"
    [mfb-postgres]="mfb-project"
    [mfb-jinja]="mfb-graph mfb-project"
    [mfb-tenancy]="mfb-postgres mfb-sql mfb-project"
    [mfb-docs]="mfb-graph mfb-sql mfb-project"
    [mfb-exec]="mfb-jinja mfb-graph mfb-sql mfb-postgres mfb-tenancy mfb-project"
    [mfb-cli]="mfb-exec mfb-docs mfb-project mfb-graph mfb-jinja mfb-sql mfb-postgres mfb-tenancy"
    [mfb-testkit]="mfb-postgres mfb-project"
  )
  declare -A owner=(
    [clap]="mfb-cli"
    [minijinja]="mfb-jinja"
    [petgraph]="mfb-graph"
    [sqlparser]="mfb-sql"
    [tokio-postgres]="mfb-postgres mfb-testkit"
  )
  local bad=0 crate dir deps dep
  for dir in crates/*/; do
    crate=$(basename "$dir")
    [ -f "$dir/Cargo.toml" ] || continue
    if [ -z "${allowed[$crate]+set}" ]; then
      echo "layers: $crate is not in STYLE.md's table; not checked"
      continue
    fi
    deps=$(cargo tree -p "$crate" -e normal --depth 1 --prefix none 2>/dev/null | tail -n +2 | awk '{print $1}' | sort -u) || {
      echo "layers: cargo tree -p $crate failed"; bad=1; continue; }
    for dep in $deps; do
      case "$dep" in
        mfb-diagnostics) ;;
        mfb-testkit)
          echo "layers: $crate depends on mfb-testkit outside [dev-dependencies]"; bad=1 ;;
        mfb-*)
          if [[ " ${allowed[$crate]} " != *" $dep "* ]]; then
            echo "layers: $crate -> $dep points against STYLE.md's arrows (allowed: ${allowed[$crate]:-only mfb-diagnostics})"
            bad=1
          fi ;;
        *)
          if [ -n "${owner[$dep]+set}" ] && [[ " ${owner[$dep]} " != *" $crate "* ]]; then
            echo "layers: $crate uses $dep directly; only ${owner[$dep]} may (go through that crate)"
            bad=1
          fi ;;
      esac
    done
  done
  if [ -d crates/mfb-sql ] && cargo tree -p mfb-sql -e normal --prefix none 2>/dev/null | grep -q '^tokio-postgres '; then
    echo "layers: mfb-sql pulls in tokio-postgres"
    bad=1
  fi
  [ "$bad" = 0 ] && echo "layers: every dependency arrow points down"
  return "$bad"
}

step "layers" check_layers
step "format" cargo fmt "${fmt_scope[@]}" -- --check
step "clippy" cargo clippy "${scope[@]}" --all-targets -- -D warnings
# includes crates/mfb-cli/tests/examples.rs: the demo project and every examples/ project
# built and checked as each tenant role
step "tests" cargo test "${scope[@]}"
compat_check() {
  # compat-check.sh runs target/debug/mfb; make sure it is the current build
  cargo build -p mfb-cli && bash scripts/compat-check.sh
}
if [ -d compat ] && [ -f scripts/compat-check.sh ] && [ -z "${MFB_SKIP_COMPAT:-}" ]; then
  if [ -d crates/mfb-cli ]; then
    step "compat" compat_check
  else
    results+=("FAILED  compat (compat/ exists but crates/mfb-cli, which it runs, does not)")
    failed=1
  fi
fi

say "summary"
printf '  %s\n' "${results[@]}"
exit "$failed"
