#!/usr/bin/env bash
# Several stateless hearth-server processes on one PostgreSQL database, with simulated tablets
# (hearth-loadgen) syncing through them at random; then every op must be held exactly once and
# every tablet's replica must equal its practitioner's view (docs/postgres.md). Then the audit
# trail the servers wrote at once must verify (docs/audit.md, "Several servers"): verify-audit
# clean while they run and after they stop, against every checkpoint they exported; each
# server's own chains present with its requests in them; no checkpoint round failed, none
# repeated another's heads, none exported by two servers.
#
#   scripts/multi-server.sh BUILD_DIR POSTGRES_URI [SERVERS] [SECONDS] [DEVICES]
#
# AUDIT_CHECKPOINT_SECONDS (2): the servers' checkpoint interval, short so that their rounds meet.
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
checkpoint_seconds=${AUDIT_CHECKPOINT_SECONDS:-2}
python3 - "$work/s1/hearth-server.json" "$uri" "$checkpoint_seconds" <<'PY'
import json, sys
path, uri, every = sys.argv[1], sys.argv[2], int(sys.argv[3])
config = json.load(open(path))
config["database"] = uri
config["audit_checkpoint_seconds"] = every
json.dump(config, open(path, "w"), indent=2)
PY
for i in $(seq 2 "$n"); do cp -a "$work/s1" "$work/s$i"; done
urls=""
started=$(date +%s)
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
# verify-audit halfway through the load: one snapshot while every server appends.
( sleep $(( (seconds + 1) / 2 )); rc=0
  "$server" --data "$work/s$n" verify-audit >"$work/verify-live.txt" 2>&1 || rc=$?
  echo "$rc" >"$work/verify-live.rc" ) &
live=$!
"$loadgen" --servers "$urls" --ca "$work/s1/certs/ca.crt" --data "$work/s1" --admin "$server" \
  --devices "$devices" --duration "$seconds" --think-ms 200 --ops-per-sync 5 --workers 8 "${pid_args[@]}"
wait "$live"

# The audit trail. The servers stop (each makes its shutdown checkpoint, in turn), then the
# trail is verified against every checkpoint any of them exported.
for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
for p in "${pids[@]}"; do
  for _ in $(seq 1 600); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$p" 2>/dev/null; then echo "FAIL: server $p did not stop within 60 s" >&2; exit 1; fi
  wait "$p" 2>/dev/null || true
done
pids=()
checkpoint_args=()
for f in "$work"/s*/audit-checkpoints/checkpoint-*.json; do [ -e "$f" ] && checkpoint_args+=(--checkpoint "$f"); done
set +e
"$server" --data "$work/s1" verify-audit "${checkpoint_args[@]}" >"$work/verify.txt" 2>&1
verify_rc=$?
set -e
psql -qAt "$uri" -c "SELECT coalesce(json_agg(document::json ORDER BY number), '[]') FROM audit_checkpoints" \
  >"$work/checkpoints.json"
python3 - "$work" "$n" "$verify_rc" "$(cat "$work/verify-live.rc")" "$(( $(date +%s) - started ))" "$checkpoint_seconds" <<'PY'
import collections, glob, json, os, re, sys
work, n, verify_rc, live_rc, elapsed, every = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
problems = []
verify = open(os.path.join(work, "verify.txt")).read()
live = open(os.path.join(work, "verify-live.txt")).read()
if live_rc != 0 or "audit trail intact" not in live:
    problems.append("verify-audit while the servers ran (exit %d):\n%s" % (live_rc, live))
if verify_rc != 0 or "audit trail intact" not in verify:
    problems.append("verify-audit after the servers stopped (exit %d):\n%s" % (verify_rc, verify))
listed = {m.group(1): int(m.group(2)) for m in re.finditer(r"^chain (\S+): (\d+) events?", verify, re.M)}
# Each server's own chains (its log's audit-chains line): all listed, and its requests in them
# (every chain starts with one opening event).
chains = 0
skipped = collections.Counter()
for i in range(1, n + 1):
    own, served = [], 0
    for line in open(os.path.join(work, "server%d.log" % i)):
        try:
            j = json.loads(line)
        except ValueError:
            continue
        if j.get("event") == "audit-chains":
            own = j["chains"]
        elif j.get("event") == "audit-checkpoint-failed":
            problems.append("server %d: a checkpoint round failed: %s" % (i, j.get("error")))
        elif j.get("event") == "audit-checkpoint-skipped":
            skipped[j.get("why")] += 1
    if not own:
        problems.append("server %d logged no chains of its own" % i)
    for c in own:
        if c not in listed:
            problems.append("server %d's chain %s is not in verify-audit's list" % (i, c))
        else:
            served += listed[c] - 1
    if own and served == 0:
        problems.append("server %d's chains hold no event but their openings" % i)
    chains += len(own)
# Checkpoints: none exported by two servers under one number, none repeating the heads of the
# one before, and no more than the rounds allow (one per half interval, and one per shutdown).
exported = collections.Counter(os.path.basename(f) for f in glob.glob(os.path.join(work, "s*", "audit-checkpoints", "checkpoint-*.json")))
for name, times in exported.items():
    if times > 1:
        problems.append("%s was exported by %d servers" % (name, times))
documents = json.load(open(os.path.join(work, "checkpoints.json")))
previous = None
for d in documents:
    heads = [(c["chain"], c["count"]) for c in d["chains"]]
    if heads == previous:
        problems.append("checkpoint %d repeats the heads of the one before it" % d["number"])
    previous = heads
rounds_allowed = int(elapsed / (every / 2.0)) + 1 + n if every > 0 else n
if len(documents) > rounds_allowed:
    problems.append("%d checkpoints in %d s with %d s rounds: more than %d" % (len(documents), elapsed, every, rounds_allowed))
for p in problems:
    print("FAIL: " + p)
if problems:
    sys.exit(1)
print("PASS: audit trail of %d servers verified: %d chains of their own, %d checkpoints (%d exported), "
      "rounds skipped: %d busy, %d recent" % (n, chains, len(documents), sum(exported.values()),
                                              skipped["another server is making one"], skipped["one was made within half an interval"]))
PY
