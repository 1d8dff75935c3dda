#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for tests and benchmarks (TOOLCHAIN.md §8): initdb in a folder
# of its own, trust authentication, listening on 127.0.0.1 only (and a Unix socket in the
# folder), fsync off. Runs as the `postgres` user when started as root (initdb refuses root).
#
#   scripts/pg-tmp.sh start DIR [PORT]   starts it (idempotent), prints its URI on stdout
#   scripts/pg-tmp.sh uri DIR            prints the URI of the cluster running in DIR
#   scripts/pg-tmp.sh stop DIR           stops it and removes DIR
#
# The URI names the database "postgres"; tests make a database of their own in it.
set -euo pipefail
cmd=${1:-}; dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start|uri|stop DIR [PORT]" >&2; exit 2; }
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$PGBIN/initdb" ] || { echo "pg-tmp: PostgreSQL's server is not installed (scripts/install-deps.sh installs it)" >&2; exit 1; }
as_owner() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
uri() { echo "postgresql://postgres@127.0.0.1:$(cat "$dir/port")/postgres"; }
case "$cmd" in
  start)
    port=${3:-}
    if [ -f "$dir/port" ] && as_owner "$PGBIN/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then uri; exit 0; fi
    if [ -z "$port" ]; then  # a free port: ask the kernel
      port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    fi
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$dir"
    if [ ! -d "$dir/data" ]; then
      as_owner "$PGBIN/initdb" -D "$dir/data" -U postgres --auth=trust --no-sync -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; exit 1; }
    fi
    echo "$port" >"$dir/port"
    as_owner "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
      start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
    uri
    ;;
  uri) uri ;;
  stop)
    if [ -d "$dir/data" ]; then as_owner "$PGBIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true; fi
    rm -rf "$dir"
    ;;
  *) echo "usage: $0 start|uri|stop DIR [PORT]" >&2; exit 2 ;;
esac
