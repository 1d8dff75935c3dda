#pragma once
// `hearth-server audit`: the IG officer's question "who saw or changed this family's records"
// (DOMAIN.md §9), answered from the audit trail without exposing other families:
//   --family F        that family's chain only
//   --practitioner P  that member of staff's events across every chain
//   --from T --to T   a window of server time (UTC dates or times; a date as --to takes the day)
// Filters combine. One line per event, or per record of a record-changes / record-viewed event:
//   <time UTC>  <actor>  <device or ->  <family or ->  <action>  <record or ->  <detail>
// A detail that cannot be opened because its family was erased prints "[sealed: family
// erased]"; an event that was tampered with prints an "ERROR" line naming it, and the listing
// goes on. The query is audited before anything is shown ("audit-query" by admin, server chain)
// and its answer after ("audit-query-answered": in the family's chain for --family, else in the
// server chain). docs/audit.md, "The IG query".
#include <cstdint>
#include <ostream>
#include <string>

#include "audit/audit_chain.hpp"

namespace hearth::server {

struct AuditQueryArgs {
  std::string family;
  std::string practitioner;
  std::string from;  // "" = from the start
  std::string to;    // "" = to now
};

// Runs the query on `trail` and prints it to `out`; problems with the arguments go to `err`.
// Exit status: 0 listed (possibly nothing), 1 bad arguments or storage failure, 2 some listed
// event was tampered with (its ERROR line says which; run verify-audit).
int audit_query_command(audit::AuditTrail& trail, const AuditQueryArgs& args, int64_t now_ms, std::ostream& out,
                        std::ostream& err);

}  // namespace hearth::server
