#!/usr/bin/env bash
# The main job's demo (DOMAIN.md §13 S1 over the network): hearth-server on 127.0.0.1 with its
# embedded SQLite store and development certificates; two tablets, a health visitor (health
# visiting service) and a youth worker (youth service), on the same family's team. Both record
# visits offline on the same day, one raises the level of need and the other lowers it; both
# sync; the converged family is printed with both visits and the conflicts raised.
# The server keeps running afterwards; the last lines say how to stop it.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=build
SERVER="$BIN/server/hearth-server"
H="$BIN/client/hearth"
VAR="${HEARTH_VAR:-var}"
PORT="${HEARTH_PORT:-8443}"
DATA="$VAR/server"
mkdir -p "$VAR"

if [ -f "$VAR/server.pid" ] && kill -0 "$(cat "$VAR/server.pid")" 2>/dev/null; then
  kill "$(cat "$VAR/server.pid")"; sleep 0.5
fi
rm -rf "$DATA" "$VAR/tablets"
mkdir -p "$VAR/tablets"

say() { printf '\n== %s\n' "$*"; }
admin() { "$SERVER" --data "$DATA" "$@"; }

say "Initialising the server's data directory (embedded SQLite, development certificates)"
admin init --dev --port "$PORT"
admin add-org --id org-hv --name "Health Visiting Service" --type HEALTH_VISITING
admin add-org --id org-ys --name "Youth Service" --type LA_YOUTH_SERVICE
admin add-practitioner --id hv-1 --org org-hv --name "Health visitor" --role PRACTITIONER
admin add-practitioner --id yw-1 --org org-ys --name "Youth worker" --role PRACTITIONER

say "Starting hearth-server on https://127.0.0.1:$PORT"
nohup "$SERVER" --data "$DATA" serve --port "$PORT" --port-file "$VAR/server.port" > "$VAR/server.log" 2>&1 &
echo $! > "$VAR/server.pid"
for _ in $(seq 1 100); do [ -s "$VAR/server.port" ] && break; sleep 0.1; done
[ -s "$VAR/server.port" ] || { echo "the server did not start; see $VAR/server.log"; exit 1; }
URL="https://127.0.0.1:$(cat "$VAR/server.port")"

tablet() {  # tablet NAME ARGS...: run hearth on that tablet's store
  local who="$1"; shift
  HEARTH_STORE="$VAR/tablets/$who.db" HEARTH_PIN="demo-$who-pin" "$H" "$@"
}

say "Enrolling two tablets with one-time codes"
for who in hv-1 yw-1; do
  tablet "$who" init --practitioner "$who"
  tablet "$who" enrol --server "$URL" --ca "$DATA/certs/ca.crt" --code "$(admin enrol-code --practitioner "$who")"
done

say "08:00 The health visitor opens the case on her tablet and syncs"
F=$(tablet hv-1 create-family '{"display_name": "Family F", "phone": "07700 900000"}')
M=$(tablet hv-1 create Person --family "$F" '{"given_names": "M", "family_name": "F", "person_status": "LIVING", "date_of_birth": "1994-03-02"}')
B=$(tablet hv-1 create Person --family "$F" '{"given_names": "B", "family_name": "F", "person_status": "LIVING", "date_of_birth": "2026-07-20"}')
Y=$(tablet hv-1 create Person --family "$F" '{"given_names": "Y", "family_name": "F", "person_status": "LIVING", "date_of_birth": "2012-05-11"}')
EP=$(tablet hv-1 create EarlyHelpEpisode --family "$F" "{\"subject_children\": [\"$B\", \"$Y\"], \"start_date\": \"2026-09-01\",
  \"start_reason\": \"PARENTING_FAMILY_DYNAMICS\", \"level_of_need\": \"L3\", \"service_model\": \"MULTI_AGENCY_TAF\",
  \"allocated_org\": \"org-hv\", \"lead_professional\": \"hv-1\", \"taf_members\": [\"yw-1\"]}")
A2=$(tablet hv-1 create PlanAction --family "$F" '{"outcome": "outcome-1", "description": "Y attends SPACE group weekly",
  "owner_kind": "PRACTITIONER", "owner_practitioner": "yw-1", "due_date": "2026-11-30", "status": "IN_PROGRESS"}')
tablet hv-1 sync

say "The office puts the youth worker on the family's team; her tablet syncs and receives the family whole"
admin allocate --family "$F" --practitioner yw-1
tablet yw-1 sync

say "10:00 Health visitor, offline: home visit, new mobile, alert, A2 = NOT_DONE, level of need L4"
tablet hv-1 create Contact --family "$F" "{\"practitioner\": \"hv-1\", \"occurred_at\": \"2026-11-23T10:00:00Z\",
  \"contact_type\": \"HOME_VISIT\", \"persons_present\": [\"$M\", \"$B\"],
  \"narrative\": \"B weighed, feeding well. M disclosed an argument with her ex-partner.\", \"concern_raised\": true}" > /dev/null
tablet hv-1 update "$F" phone '"07700 900001"'
tablet hv-1 create Alert --family "$F" "{\"subject\": \"$F\", \"type\": \"DOMESTIC_ABUSE_RISK\", \"severity\": \"WARNING\",
  \"set_by\": \"hv-1\", \"set_at\": \"2026-11-23T10:40:00Z\"}" > /dev/null
tablet hv-1 update "$A2" status '"NOT_DONE"'
tablet hv-1 update "$EP" level_of_need '"L4"'

say "15:00 Youth worker, offline: youth work with Y (seen alone), new mobile, A2 = DONE, level of need L2"
tablet yw-1 create Contact --family "$F" "{\"practitioner\": \"yw-1\", \"occurred_at\": \"2026-11-23T15:00:00Z\",
  \"contact_type\": \"DETACHED_YOUTH_WORK\", \"persons_present\": [\"$Y\"], \"children_seen_alone\": [\"$Y\"],
  \"narrative\": \"Met Y at the park; he attended SPACE on Tuesday.\", \"concern_raised\": false}" > /dev/null
tablet yw-1 update "$F" phone '"07700 900002"'
tablet yw-1 update "$A2" status '"DONE"'
tablet yw-1 update "$EP" level_of_need '"L2"'

say "17:00 Both tablets are back in signal and sync"
tablet yw-1 sync
tablet hv-1 sync
tablet yw-1 sync

say "The family as the youth worker's tablet now holds it"
tablet yw-1 family "$F"
if [ "$(tablet hv-1 family "$F" --json | sed 's/"ok":true//')" = "$(tablet yw-1 family "$F" --json | sed 's/"ok":true//')" ]; then
  echo "Both tablets hold exactly the same family."
else
  echo "THE TABLETS DIFFER"; exit 1
fi

cat <<EOM

hearth-server is still running at $URL (pid $(cat "$VAR/server.pid"), log $VAR/server.log).
Try: HEARTH_STORE=$VAR/tablets/hv-1.db HEARTH_PIN=demo-hv-1-pin $H status
Stop it with: kill $(cat "$VAR/server.pid")
EOM
