#!/usr/bin/env bash
# Throwaway PostgreSQL cluster for tests and the demo.
#
#   scripts/pg.sh start DIR [PORT]   initdb DIR if new, start it on 127.0.0.1:PORT
#                                    (a free port when PORT is omitted), print its URL
#   scripts/pg.sh stop DIR           stop the cluster in DIR (no error if not running)
#   scripts/pg.sh url DIR            print the URL of the cluster running in DIR
#   scripts/pg.sh bindir             print the server binaries' directory (installing them
#                                    first if missing)
#
# Trust authentication on 127.0.0.1 only, fsync off: for throwaway data, never real data.
# Uses the newest /usr/lib/postgresql/*/bin (or PG_BINDIR); installs the Debian package
# `postgresql` with apt-get when no server binaries exist. When run as root, initdb and
# pg_ctl run as the `postgres` OS user (initdb refuses to run as root), created if missing.
# PG_NO_INSTALL=1 turns the apt-get install into an error (tests use it).
set -euo pipefail

usage() {
  echo "usage: scripts/pg.sh start DIR [PORT] | stop DIR | url DIR | bindir" >&2
  exit 2
}

find_bindir() {
  if [ -n "${PG_BINDIR:-}" ]; then
    echo "$PG_BINDIR"
    return
  fi
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1
}

install_server() {
  if [ -n "${PG_NO_INSTALL:-}" ]; then
    echo "pg.sh: no PostgreSQL server binaries under /usr/lib/postgresql/*/bin (PG_NO_INSTALL is set, not installing);" >&2
    echo "       run 'scripts/pg.sh bindir' or 'apt-get install postgresql', or set PG_BINDIR" >&2
    exit 1
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "pg.sh: no PostgreSQL server binaries under /usr/lib/postgresql/*/bin and no apt-get;" >&2
    echo "       install a PostgreSQL server, or set PG_BINDIR to its bin directory" >&2
    exit 1
  fi
  local sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  echo "pg.sh: installing PostgreSQL server binaries with apt-get" >&2
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql >&2
}

bindir=$(find_bindir)
if [ -z "$bindir" ] || [ ! -x "$bindir/pg_ctl" ]; then
  if [ -n "${PG_BINDIR:-}" ]; then
    echo "pg.sh: PG_BINDIR=$PG_BINDIR has no pg_ctl" >&2
    exit 1
  fi
  install_server
  bindir=$(find_bindir)
  [ -n "$bindir" ] && [ -x "$bindir/pg_ctl" ] || { echo "pg.sh: apt-get ran but no server binaries appeared" >&2; exit 1; }
fi

if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
  echo "pg.sh: creating the 'postgres' OS user to run the server (initdb refuses root)" >&2
  useradd --system --no-create-home --shell /usr/sbin/nologin postgres
fi

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# True when something accepts TCP connections on 127.0.0.1:$1.
port_busy() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Port of the running cluster in $1, from line 4 of postmaster.pid.
running_port() {
  local dir=$1
  as_pg "$bindir/pg_ctl" -D "$dir" status >/dev/null 2>&1 || return 1
  sed -n 4p "$dir/postmaster.pid"
}

url_for() {
  echo "postgres://postgres@127.0.0.1:$1/postgres"
}

start() {
  local dir=${1:?DIR}
  local port=${2:-}
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  if [ "$(id -u)" = 0 ]; then
    chown postgres "$dir"
    # the postgres user must be able to reach DIR through its parents
    local parent
    parent=$(dirname "$dir")
    while [ "$parent" != / ]; do
      if [ "$(stat -c %U "$parent")" = root ] && ! runuser -u postgres -- test -x "$parent"; then
        chmod o+x "$parent"
      fi
      parent=$(dirname "$parent")
    done
  fi

  local existing
  if existing=$(running_port "$dir"); then
    if [ -n "$port" ] && [ "$port" != "$existing" ]; then
      echo "pg.sh: a cluster already runs in $dir on port $existing (asked for $port); run 'scripts/pg.sh stop $dir' first" >&2
      exit 1
    fi
    url_for "$existing"
    return
  fi

  if [ ! -f "$dir/PG_VERSION" ]; then
    if [ -n "$(ls -A "$dir")" ]; then
      echo "pg.sh: $dir is not empty and holds no cluster; give an empty or new directory" >&2
      exit 1
    fi
    as_pg "$bindir/initdb" -D "$dir" -U postgres --auth=trust -E UTF8 --no-locale >/dev/null
  fi
  # a server killed without cleanup leaves a stale pid file; pg_ctl status said it is not running
  rm -f "$dir/postmaster.pid"

  local tries=1 explicit=1
  if [ -z "$port" ]; then
    explicit=0
    tries=20
  fi
  local i
  for ((i = 0; i < tries; i++)); do
    if [ "$explicit" = 0 ]; then
      # random port away from the fixed ranges people hand out (554xx)
      port=$((30000 + (RANDOM * 32768 + RANDOM) % 20000))
      port_busy "$port" && continue
    elif port_busy "$port"; then
      echo "pg.sh: port $port is already in use on 127.0.0.1; pick another or omit PORT" >&2
      exit 1
    fi
    if as_pg "$bindir/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
      start >/dev/null; then
      url_for "$port"
      return
    fi
  done
  echo "pg.sh: could not start PostgreSQL in $dir; last lines of $dir/server.log:" >&2
  tail -n 20 "$dir/server.log" >&2 || true
  exit 1
}

stop() {
  local dir=${1:?DIR}
  [ -f "$dir/PG_VERSION" ] || return 0
  as_pg "$bindir/pg_ctl" -D "$dir" -m fast -w stop >/dev/null 2>&1 || true
}

cmd=${1:-}
[ -n "$cmd" ] || usage
shift
case "$cmd" in
  start) [ $# -ge 1 ] && [ $# -le 2 ] || usage; start "$@" ;;
  stop) [ $# -eq 1 ] || usage; stop "$1" ;;
  url)
    [ $# -eq 1 ] || usage
    p=$(running_port "$1") || { echo "pg.sh: no cluster running in $1" >&2; exit 1; }
    url_for "$p"
    ;;
  bindir) [ $# -eq 0 ] || usage; echo "$bindir" ;;
  *) usage ;;
esac
