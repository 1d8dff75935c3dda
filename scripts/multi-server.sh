#!/usr/bin/env bash
# Several stateless hearth-server processes on one PostgreSQL database, with simulated tablets
# (hearth-loadgen) syncing through them at random; then every op must be held exactly once and
# every tablet's replica must equal its practitioner's view (docs/postgres.md).
#
#   scripts/multi-server.sh BUILD_DIR POSTGRES_URI [SERVERS] [SECONDS] [DEVICES]
#
# POSTGRES_URI names a database that exists (empty or not), or a cluster's "postgres" database:
# then a fresh database is made for the run and dropped after. The servers listen on 127.0.0.1 on
# ports the kernel picks, share one data directory's keys and certificates (copied), and are
# stopped at the end, whatever happens.
set -euo pipefail
build=${1:?build dir}; uri=${2:?postgres uri}; n=${3:-3}; seconds=${4:-20}; devices=${5:-30}
server="$build/tests/bench/hearth-bench-server"
loadgen="$build/tests/bench/hearth-loadgen"
work=$(mktemp -d "${TMPDIR:-/tmp}/hearth-multi-XXXXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
if [ "${uri##*/}" = postgres ]; then  # a database of the run's own in the cluster
  fresh="hearth_multi_$$"
  psql -q "$uri" -c "CREATE DATABASE $fresh" >/dev/null
  admin_uri=$uri; uri="${uri%/postgres}/$fresh"
  trap 'cleanup; psql -q "$admin_uri" -c "DROP DATABASE IF EXISTS $fresh WITH (FORCE)" >/dev/null 2>&1 || true' EXIT
fi
"$server" --data "$work/s1" --schema peer-benchmark init --dev >"$work/init.log" 2>&1 || { cat "$work/init.log" >&2; exit 1; }
python3 - "$work/s1/hearth-server.json" "$uri" <<'PY'
import json, sys
path, uri = sys.argv[1], sys.argv[2]
config = json.load(open(path))
config["database"] = uri
json.dump(config, open(path, "w"), indent=2)
PY
for i in $(seq 2 "$n"); do cp -a "$work/s1" "$work/s$i"; done
urls=""
for i in $(seq 1 "$n"); do
  "$server" --data "$work/s$i" --schema peer-benchmark serve --host 127.0.0.1 --port 0 --port-file "$work/port$i" \
    2>"$work/server$i.log" &
  pids+=($!)
done
for i in $(seq 1 "$n"); do
  for _ in $(seq 1 200); do [ -s "$work/port$i" ] && break; sleep 0.1; done
  [ -s "$work/port$i" ] || { echo "server $i did not start:" >&2; cat "$work/server$i.log" >&2; exit 1; }
  urls="${urls:+$urls,}https://127.0.0.1:$(cat "$work/port$i")"
done
echo "servers: $urls"
pid_args=(); for p in "${pids[@]}"; do pid_args+=(--server-pid "$p"); done
"$loadgen" --servers "$urls" --ca "$work/s1/certs/ca.crt" --data "$work/s1" --admin "$server" \
  --devices "$devices" --duration "$seconds" --think-ms 200 --ops-per-sync 5 --workers 8 "${pid_args[@]}"
