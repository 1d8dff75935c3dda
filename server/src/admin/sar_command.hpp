#pragma once
// `hearth-server sar --person P [--requester-type SELF|PARENT|REPRESENTATIVE] [--received
// YYYY-MM-DD] [--out DIR] [--by IG_OFFICER]`: a subject access export (DOMAIN.md §10.2, S4;
// usecases/subject_access.hpp has the rules, docs/subject-access.md the output).
//
// The SAR is logged the first time it is run for a (person, date of receipt): a "sar-logged"
// event in each of the person's families' audit chains. Every later run judges the devices
// against that time: each device of a team member of those families (and of a former member,
// until its purging pull) must have synced since (or be declared lost or wiped), else the
// export is still written but marked INCOMPLETE and names them. Every run writes DIR/sar-<person>-<UTC stamp>.json and .html (mode 0600; the
// records are unsealed in memory only). Each run is audited before it reads ("sar-started" in
// the server chain: who, for whom) and after it wrote ("sar" in each family's chain: who, for
// whom, how many records disclosed, withheld and flagged, the sync state, the files).
// Exit status: 0 written (complete or not), 1 bad arguments or a failure, 3 no such person.
#include <cstdint>
#include <ostream>
#include <string>

#include "audit/audit_chain.hpp"
#include "hearth/core/schema.hpp"
#include "storage/records.hpp"
#include "storage/storage.hpp"

namespace hearth::server {

struct SarArgs {
  std::string person;
  std::string requester_type = "SELF";
  std::string received;  // "" = today (UTC)
  std::string out_dir;   // "" = the current directory
  std::string by = "admin";
};

int sar_command(Storage& store, RecordStore& records, audit::AuditTrail& trail, const Schema& schema,
                const SarArgs& args, int64_t now_ms, std::ostream& out, std::ostream& err);

}  // namespace hearth::server
