#!/usr/bin/env bash
# The main job's demo, two scenarios of DOMAIN.md §13 over the network, with hearth-server on
# 127.0.0.1 (embedded SQLite store, development certificates):
#  S1: a health visitor (health visiting service, lead professional) and a youth worker (youth
#      service, on the team with the mother's consent) record visits offline on the same day, one
#      raises the level of need and the other lowers it; both sync; the family converges with
#      both visits and the conflicts raised, and the youth worker's tablet holds everything but
#      what is for the lead professional only (the alert's details, DOMAIN.md §5).
#  S2: a father withdraws his consent to share with his daughter's school; at its next sync the
#      school's tablet loses exactly his records, while the daughter's own shared records stay.
#  S3: a health visitor, offline on a home visit, steps a case up to children's social care; at
#      her sync the server locks the plan and posts the step-up package to the office system (a
#      stand-in, scripts/office-stub.py, receiving over HTTPS); a children's centre worker's later
#      edit to the locked plan is held with its value; the office's decision pauses the episode.
# It ends with the quarter's KPI report (DOMAIN.md §12): the table, and the path of the HTML page.
# The server and the office stub keep running afterwards; the last lines say how to stop them.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=build
SERVER="$BIN/server/hearth-server"
H="$BIN/client/hearth"
VAR="${HEARTH_VAR:-var}"
PORT="${HEARTH_PORT:-8443}"
OFFICE_PORT="${HEARTH_OFFICE_PORT:-0}"  # the office stub's port (0: a free one)
DATA="$VAR/server"
mkdir -p "$VAR"

for pidfile in "$VAR/server.pid" "$VAR/office-stub.pid"; do
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    kill "$(cat "$pidfile")"; sleep 0.5
  fi
done
rm -rf "$DATA" "$VAR/tablets" "$VAR/office-items.jsonl" "$VAR/office-stub.port"
mkdir -p "$VAR/tablets"

say() { printf '\n== %s\n' "$*"; }
admin() { "$SERVER" --data "$DATA" "$@"; }

say "Initialising the server's data directory (embedded SQLite encrypted at rest under a development KEK, development certificates)"
admin init --dev --port "$PORT"
admin add-org --id org-hv --name "Health Visiting Service" --type HEALTH_VISITING
admin add-org --id org-ys --name "Youth Service" --type LA_YOUTH_SERVICE
admin add-practitioner --id hv-1 --org org-hv --name "Health visitor" --role PRACTITIONER
admin add-practitioner --id yw-1 --org org-ys --name "Youth worker" --role PRACTITIONER
admin add-org --id org-school --name "Hillside School" --type SCHOOL
admin add-practitioner --id yw-2 --org org-ys --name "Youth worker (S2)" --role PRACTITIONER
admin add-practitioner --id dsl-1 --org org-school --name "School safeguarding lead" --role PRACTITIONER
admin add-practitioner --id duty-1 --org org-ys --name "Early Help duty worker" --role PRACTITIONER
admin add-org --id org-cc --name "Children's Centre" --type CHILDRENS_CENTRE_FAMILY_HUB
admin add-practitioner --id cc-1 --org org-cc --name "Children's centre worker" --role PRACTITIONER
admin add-practitioner --id mgr-1 --org org-hv --name "Health visiting team manager" --role TEAM_MANAGER

say "Starting a stand-in for the council's office system (scripts/office-stub.py) and connecting the repeater to it"
nohup python3 scripts/office-stub.py serve --cert "$DATA/certs/server.crt" --key "$DATA/certs/server.key" \
  --port "$OFFICE_PORT" --port-file "$VAR/office-stub.port" --token demo-office-token \
  --record "$VAR/office-items.jsonl" > "$VAR/office-stub.log" 2>&1 &
echo $! > "$VAR/office-stub.pid"
for _ in $(seq 1 100); do [ -s "$VAR/office-stub.port" ] && break; sleep 0.1; done
[ -s "$VAR/office-stub.port" ] || { echo "the office stub did not start; see $VAR/office-stub.log"; exit 1; }
OFFICE_URL="https://127.0.0.1:$(cat "$VAR/office-stub.port")"
python3 - "$DATA/hearth-server.json" "$OFFICE_URL/items" "$PWD/$DATA/certs/ca.crt" <<'PY'
import json, sys
path, url, ca = sys.argv[1:4]
with open(path) as f:
    config = json.load(f)
config["office_endpoint"] = {"url": url, "ca_file": ca, "token": "demo-office-token", "name": "office-stub",
                             "retry_base_ms": 500, "idle_ms": 500}
with open(path, "w") as f:
    json.dump(config, f, indent=2)
PY
echo "The office stub listens at $OFFICE_URL; hearth-server.json's \"office_endpoint\" points the repeater at it (docs/office.md)"

say "Starting hearth-server on 127.0.0.1 (port ${PORT}; 0: a free one)"
nohup "$SERVER" --data "$DATA" serve --port "$PORT" --port-file "$VAR/server.port" > "$VAR/server.log" 2>&1 &
echo $! > "$VAR/server.pid"
for _ in $(seq 1 100); do [ -s "$VAR/server.port" ] && break; sleep 0.1; done
[ -s "$VAR/server.port" ] || { echo "the server did not start; see $VAR/server.log"; exit 1; }
URL="https://127.0.0.1:$(cat "$VAR/server.port")"
echo "hearth-server is listening at $URL"

tablet() {  # tablet NAME ARGS...: run hearth on that tablet's store
  local who="$1"; shift
  HEARTH_STORE="$VAR/tablets/$who.db" HEARTH_PIN="demo-$who-pin" "$H" "$@"
}

say "Enrolling five tablets with one-time codes"
for who in hv-1 yw-1 yw-2 dsl-1 cc-1; do
  tablet "$who" init --practitioner "$who"
  tablet "$who" enrol --server "$URL" --ca "$DATA/certs/ca.crt" --code "$(admin enrol-code --practitioner "$who")"
done

say "08:00 The health visitor opens the case on her tablet and syncs"
F=$(tablet hv-1 create-family '{"display_name": "Family F", "phone": "07700 900000"}')
M=$(tablet hv-1 create Person --family "$F" '{"given_names": "M", "family_name": "F", "person_status": "LIVING", "date_of_birth": "1994-03-02"}')
B=$(tablet hv-1 create Person --family "$F" '{"given_names": "B", "family_name": "F", "person_status": "LIVING", "date_of_birth": "2026-07-20"}')
Y=$(tablet hv-1 create Person --family "$F" '{"given_names": "Y", "family_name": "F", "person_status": "LIVING", "date_of_birth": "2012-05-11"}')
for child in "$B" "$Y"; do
  tablet hv-1 create Relationship --family "$F" "{\"person_a\": \"$M\", \"person_b\": \"$child\", \"type\": \"MOTHER\",
    \"parental_responsibility\": \"YES\"}" > /dev/null
done
# M consents to sharing with the team: for herself, and with parental responsibility for B and Y.
for cover in "\"$M\"|SELF_ADULT" "\"$B\", \"$Y\"|PR_HOLDER_FOR_CHILD"; do
  tablet hv-1 create ConsentRecord --family "$F" "{\"purposes\": [\"RECEIVE_EARLY_HELP\", \"SHARE_WITH_TAF\"],
    \"covers_persons\": [${cover%%|*}], \"given_by\": \"$M\", \"capacity_basis\": \"${cover##*|}\",
    \"recipients\": [\"org-hv\", \"org-ys\"], \"data_scope\": \"ALL_EPISODE_RECORDS\", \"method\": \"ON_DEVICE_SIGNATURE\",
    \"explained_by\": \"hv-1\", \"privacy_notice_version\": \"v3\", \"given_at\": \"2026-09-01T10:00:00Z\",
    \"expires_at\": \"2027-09-01T10:00:00Z\", \"status\": \"ACTIVE\"}" > /dev/null
done
EP=$(tablet hv-1 create EarlyHelpEpisode --family "$F" "{\"subject_children\": [\"$B\", \"$Y\"], \"start_date\": \"2026-09-01\",
  \"start_reason\": \"PARENTING_FAMILY_DYNAMICS\", \"level_of_need\": \"L3\", \"service_model\": \"MULTI_AGENCY_TAF\",
  \"allocated_org\": \"org-hv\", \"lead_professional\": \"hv-1\", \"taf_members\": [\"yw-1\"]}")
A2=$(tablet hv-1 create PlanAction --family "$F" '{"outcome": "outcome-1", "description": "Y attends SPACE group weekly",
  "owner_kind": "PRACTITIONER", "owner_practitioner": "yw-1", "due_date": "2026-11-30", "status": "IN_PROGRESS"}')
tablet hv-1 sync

say "The office puts the youth worker on the family's team; her tablet syncs and receives what the consent covers"
admin allocate --family "$F" --practitioner yw-1 --scope FULL_EPISODE
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
YW_JSON=$(tablet yw-1 family "$F" --json)  # in memory only: no plain copy of the records on disk
for text in "B weighed, feeding well" "Met Y at the park"; do
  [[ "$YW_JSON" == *"$text"* ]] || { echo "THE YOUTH WORKER'S TABLET LACKS A VISIT: $text"; exit 1; }
done
echo "Both visits reached both tablets. Withheld from the youth worker (for the lead professional and managers only):"
tablet yw-1 family "$F" | grep "withheld" || echo "  (nothing)"
for text in "B weighed, feeding well" "Met Y at the park"; do
  if grep -rqa "$text" "$DATA" "$VAR/server.log"; then echo "THE SERVER'S FILES HOLD A VISIT IN CLEAR: $text"; exit 1; fi
done
echo "The server holds both visits, and none of its files (database, WAL, log) has either in clear: each family's"
echo "records are sealed under the family's key, wrapped by the KEK in $DATA/keys/kek.key (docs/server-encryption.md)."

say "S2: a father withdraws his consent to share with the school (DOMAIN.md §13 S2)"
G=$(tablet yw-2 create-family '{"display_name": "Family G", "phone": "07700 900200"}')
P=$(tablet yw-2 create Person --family "$G" '{"given_names": "P", "family_name": "G", "person_status": "LIVING", "date_of_birth": "1980-02-03"}')
D=$(tablet yw-2 create Person --family "$G" '{"given_names": "D", "family_name": "G", "person_status": "LIVING", "date_of_birth": "2011-04-01"}')
tablet yw-2 create Relationship --family "$G" "{\"person_a\": \"$P\", \"person_b\": \"$D\", \"type\": \"FATHER\",
  \"parental_responsibility\": \"YES\"}" > /dev/null
tablet yw-2 create EarlyHelpEpisode --family "$G" "{\"subject_children\": [\"$D\"], \"start_date\": \"2026-09-01\",
  \"start_reason\": \"PARENTING_FAMILY_DYNAMICS\", \"level_of_need\": \"L2\", \"service_model\": \"MULTI_AGENCY_TAF\",
  \"allocated_org\": \"org-ys\", \"lead_professional\": \"yw-2\"}" > /dev/null
consent() {  # consent PERSON BASIS: the person's own consent to share with the team and the school
  tablet yw-2 create ConsentRecord --family "$G" "{\"purposes\": [\"RECEIVE_EARLY_HELP\", \"SHARE_WITH_TAF\"],
    \"covers_persons\": [\"$1\"], \"given_by\": \"$1\", \"capacity_basis\": \"$2\",
    \"competence_rationale\": \"D understands what sharing with her school means and chose it herself\",
    \"competence_assessed_by\": \"yw-2\", \"competence_assessed_at\": \"2026-09-01T09:30:00Z\",
    \"recipients\": [\"org-school\", \"org-ys\"], \"data_scope\": \"ALL_EPISODE_RECORDS\", \"method\": \"ON_DEVICE_SIGNATURE\",
    \"explained_by\": \"yw-2\", \"privacy_notice_version\": \"v3\", \"given_at\": \"2026-09-01T10:00:00Z\",
    \"expires_at\": \"2027-09-01T10:00:00Z\", \"status\": \"ACTIVE\"}"
}
K1=$(consent "$P" SELF_ADULT)
consent "$D" COMPETENT_CHILD_SELF > /dev/null
visit() {  # visit PERSON TEXT
  tablet yw-2 create Contact --family "$G" "{\"practitioner\": \"yw-2\", \"occurred_at\": \"2026-11-20T10:00:00Z\",
    \"contact_type\": \"HOME_VISIT\", \"persons_present\": [\"$1\"], \"narrative\": \"$2\", \"concern_raised\": false}" > /dev/null
}
visit "$P" "P talked about the pressure of his new job."
visit "$D" "D says her mentor sessions at school are going well."
tablet yw-2 sync
admin allocate --family "$G" --practitioner dsl-1 --scope FULL_EPISODE
tablet dsl-1 sync
echo "The school's tablet holds $(tablet dsl-1 family "$G" --json | grep -o '"id":' | wc -l) records, both visits among them:"
tablet dsl-1 family "$G" --json | grep -o 'P talked about[^"]*\|D says her[^"]*'

say "10:00 P phones the office and withdraws consent to share with the school; the duty worker records it"
admin consent withdraw --family "$G" --consent "$K1" --recipients org-school --withdrawn-by "$P" --recorded-by duty-1 \
  --channel PHONE
admin consent list --family "$G"

say "The school's tablet syncs: P's records are gone, D's own shared records stay"
tablet dsl-1 sync
echo "The school's tablet holds $(tablet dsl-1 family "$G" --json | grep -o '"id":' | wc -l) records now:"
tablet dsl-1 family "$G" --json | grep -o 'P talked about[^"]*\|D says her[^"]*'
if tablet dsl-1 family "$G" --json | grep -q "P talked about"; then echo "THE SCHOOL STILL HOLDS P'S RECORDS"; exit 1; fi
echo "Withheld from the school since the withdrawal:"
tablet dsl-1 family "$G" | grep "withheld" || echo "  (nothing)"
echo "The lead professional's tablet keeps the lead agency's whole record (DOMAIN.md §6.2):"
tablet yw-2 sync > /dev/null
tablet yw-2 family "$G" --json | grep -o 'P talked about[^"]*\|D says her[^"]*'

say "S3: a case stepped up to children's social care (DOMAIN.md §13 S3)"
FH=$(tablet hv-1 create-family '{"display_name": "Family H", "phone": "07700 900300"}')
Q=$(tablet hv-1 create Person --family "$FH" '{"given_names": "Q", "family_name": "H", "person_status": "LIVING", "date_of_birth": "1995-03-01"}')
R=$(tablet hv-1 create Person --family "$FH" '{"given_names": "R", "family_name": "H", "person_status": "LIVING", "date_of_birth": "2023-06-01"}')
U=$(tablet hv-1 create Person --family "$FH" '{"given_names": "U", "family_name": "H", "person_status": "LIVING", "date_of_birth": "2026-11-20"}')
for child in "$R" "$U"; do
  tablet hv-1 create Relationship --family "$FH" "{\"person_a\": \"$Q\", \"person_b\": \"$child\", \"type\": \"MOTHER\",
    \"parental_responsibility\": \"YES\"}" > /dev/null
done
for cover in "\"$Q\"|SELF_ADULT" "\"$R\", \"$U\"|PR_HOLDER_FOR_CHILD"; do
  tablet hv-1 create ConsentRecord --family "$FH" "{\"purposes\": [\"RECEIVE_EARLY_HELP\", \"SHARE_WITH_TAF\"],
    \"covers_persons\": [${cover%%|*}], \"given_by\": \"$Q\", \"capacity_basis\": \"${cover##*|}\",
    \"recipients\": [\"org-hv\", \"org-cc\"], \"data_scope\": \"ALL_EPISODE_RECORDS\", \"method\": \"ON_DEVICE_SIGNATURE\",
    \"explained_by\": \"hv-1\", \"privacy_notice_version\": \"v3\", \"given_at\": \"2026-09-01T10:00:00Z\",
    \"expires_at\": \"2027-09-01T10:00:00Z\", \"status\": \"ACTIVE\"}" > /dev/null
done
E3=$(tablet hv-1 create EarlyHelpEpisode --family "$FH" "{\"subject_children\": [\"$R\", \"$U\"], \"start_date\": \"2026-10-05\",
  \"start_reason\": \"PARENTING_FAMILY_DYNAMICS\", \"level_of_need\": \"L3\", \"service_model\": \"MULTI_AGENCY_TAF\",
  \"allocated_org\": \"org-hv\", \"lead_professional\": \"hv-1\"}")
for to in ASSESSMENT PLANNING ACTIVE; do tablet hv-1 transition "$E3" "$to" > /dev/null; done
EHA=$(tablet hv-1 create Assessment --family "$FH" "{\"episode\": \"$E3\", \"assessment_type\": \"EHA_FAMILY\",
  \"template_id\": \"eha\", \"template_version\": \"3\", \"author\": \"hv-1\", \"started_at\": \"2026-10-06T10:00:00Z\",
  \"reason_for_assessment\": \"Whole-family assessment\", \"significant_harm_indicated\": false}")
PLAN=$(tablet hv-1 create FamilyPlan --family "$FH" "{\"episode\": \"$E3\", \"version\": 1, \"based_on_assessment\": \"$EHA\",
  \"review_interval_weeks\": 6, \"next_review_due\": \"2026-12-15\", \"agreed_at\": \"2026-10-20T10:00:00Z\"}")
tablet hv-1 add "$PLAN" family_agreement "\"$Q\"" > /dev/null
for to in AGREED ACTIVE; do tablet hv-1 transition "$PLAN" "$to" > /dev/null; done
OUTCOME=$(tablet hv-1 create PlanOutcome --family "$FH" "{\"plan\": \"$PLAN\", \"statement\": \"R enjoys playing with other children\",
  \"linked_needs\": [\"PARENTING_SUPPORT\"], \"measure\": \"attendance\", \"target\": \"weekly\", \"target_date\": \"2027-03-01\",
  \"status\": \"IN_PROGRESS\"}")
ACTION=$(tablet hv-1 create PlanAction --family "$FH" "{\"outcome\": \"$OUTCOME\", \"description\": \"R attends stay-and-play\",
  \"owner_kind\": \"PRACTITIONER\", \"owner_practitioner\": \"cc-1\", \"due_date\": \"2027-01-31\", \"status\": \"NOT_STARTED\"}")
tablet hv-1 sync
admin allocate --family "$FH" --practitioner cc-1 --scope FULL_EPISODE
admin allocate --family "$FH" --practitioner mgr-1
tablet cc-1 sync

say "09:45 The health visitor, offline: Q discloses an assault; visit, information-sharing decision, step-up, alert"
tablet hv-1 create Contact --family "$FH" "{\"practitioner\": \"hv-1\", \"occurred_at\": \"2026-12-01T09:30:00Z\",
  \"contact_type\": \"HOME_VISIT\", \"children_seen\": [\"$R\", \"$U\"],
  \"narrative\": \"Q disclosed that her partner assaulted her last night while holding U. Bruising seen.\", \"concern_raised\": true}" > /dev/null
D1=$(tablet hv-1 create InformationSharingDecision --family "$FH" "{\"decided_at\": \"2026-12-01T09:45:00Z\", \"decided_by\": \"hv-1\",
  \"decision\": \"SHARE\", \"with_consent\": \"NO_NOT_SOUGHT\", \"recipients\": [\"org-hv\"], \"items_summary\": \"the visit and the plan\",
  \"purpose\": \"STEP_UP\", \"risk_description\": \"assault while holding a newborn\",
  \"necessity_proportionality\": \"what the front door needs to decide\", \"subject_informed\": \"NOT_INFORMED\",
  \"not_informed_reason\": \"WOULD_INCREASE_RISK_TO_CHILD\", \"lawful_basis\": \"PUBLIC_TASK_6_1_E\",
  \"art9_condition\": \"SUBSTANTIAL_PUBLIC_INTEREST_SCH1_P18_SAFEGUARDING\"}")
SU1=$(tablet hv-1 create StepUpRequest --family "$FH" "{\"episode\": \"$E3\", \"children\": [\"$R\", \"$U\"],
  \"kind\": \"UNPLANNED_INCIDENT\", \"reason\": \"Assault disclosed, bruising seen\", \"significant_harm\": true,
  \"consent_position\": \"NOT_SOUGHT_WOULD_INCREASE_RISK\", \"disclosure\": \"$D1\", \"submitted_at\": \"2026-12-01T09:45:00Z\"}")
tablet hv-1 update "$SU1" phone_referral_made_at '"2026-12-01T10:05:00Z"'
tablet hv-1 transition "$SU1" SUBMITTED > /dev/null
tablet hv-1 create Alert --family "$FH" "{\"subject\": \"$FH\", \"type\": \"DOMESTIC_ABUSE_RISK\", \"severity\": \"HIGH\",
  \"set_by\": \"hv-1\", \"set_at\": \"2026-12-01T09:50:00Z\"}" > /dev/null

say "10:10 The children's centre worker, offline: her plan action's status, and her own session note"
tablet cc-1 update "$ACTION" status '"IN_PROGRESS"'
tablet cc-1 create Contact --family "$FH" "{\"practitioner\": \"cc-1\", \"occurred_at\": \"2026-12-01T09:00:00Z\",
  \"contact_type\": \"GROUP_SESSION\", \"narrative\": \"R at stay-and-play, settled.\", \"concern_raised\": false}" > /dev/null

say "12:00 The health visitor syncs: the episode awaits social care, the plan is locked, the package goes to the office"
tablet hv-1 sync
admin records --family "$FH" --type EarlyHelpEpisode --by mgr-1 | python3 -c 'import json,sys
for line in sys.stdin: r = json.loads(line); print("  episode", r["id"], "is", r["fields"]["status"])'
admin records --family "$FH" --type FamilyPlan --by mgr-1 | python3 -c 'import json,sys
for line in sys.stdin: r = json.loads(line); print("  plan", r["id"], "is", r["fields"]["status"])'
for _ in $(seq 1 100); do grep -q '"kind": *"package"' "$VAR/office-items.jsonl" 2>/dev/null && break; sleep 0.1; done
echo "What the office system received (scripts/office-stub.py; each record with its idempotency key):"
python3 - "$VAR/office-items.jsonl" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    item = json.loads(line)
    if item.get("kind") == "package":
        p = item["package"]
        print("  STEP-UP PACKAGE", item["key"], "(priority", str(item["priority"]) + "):",
              len(p.get("chronology", [])), "contacts,", len(p.get("assessments", [])), "assessment(s),",
              len(p.get("plans", [])), "plan(s),", len(p.get("consent", [])), "consent records,",
              len(p.get("information_sharing_decisions", [])), "information-sharing decision(s); consent position",
              p.get("consent_position"))
n = sum(1 for _ in open(sys.argv[1]))
print("  and", n, "items in all (every record the office's role may see, each once)")
PY
grep -q '"kind": *"package"' "$VAR/office-items.jsonl" || { echo "THE STEP-UP PACKAGE DID NOT REACH THE OFFICE"; exit 1; }

say "12:30 The children's centre worker syncs: her visit note is accepted, her edit to the locked plan is held with its value"
tablet cc-1 sync
admin held list --family "$FH"

say "15:00 The office decides: accepted for a section 47 strategy discussion; the council's policy pauses early help"
admin step-up decide --step-up "$SU1" --decision ACCEPTED_S47_STRATEGY --csc-ref CSC-2026-77 --decided-at 2026-12-01T15:00:00Z
admin records --family "$FH" --type EarlyHelpEpisode --by mgr-1 | python3 -c 'import json,sys
for line in sys.stdin: r = json.loads(line); print("  episode", r["id"], "is now", r["fields"]["status"])'

cat <<EOM

hearth-server is still running at $URL (pid $(cat "$VAR/server.pid"), log $VAR/server.log), and the office stub at
$OFFICE_URL (pid $(cat "$VAR/office-stub.pid"), items in $VAR/office-items.jsonl).
Try: HEARTH_STORE=$VAR/tablets/hv-1.db HEARTH_PIN=demo-hv-1-pin $H status
     $SERVER --data $DATA office status
Stop them with: kill $(cat "$VAR/server.pid") $(cat "$VAR/office-stub.pid")
EOM

say "The quarter's KPI report (DOMAIN.md §12; small numbers shown, as inside the council: --no-suppress)"
admin report --period current --no-suppress --html "$PWD/$VAR/kpi-report.html"
