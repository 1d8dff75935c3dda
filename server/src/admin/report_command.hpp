#pragma once
// `hearth-server report`: the KPI report of DOMAIN.md §12 for one period, from the server's
// current records (report/kpi.hpp computes, report/render.hpp prints).
//   --period 2026-Q3            a calendar quarter, half-open ("current": the quarter holding
//                               today, UTC; "previous": the one before it); or
//   --from DATE --to DATE       an explicit period [from, to)
//   --format text|csv|json|html text (a table of every measure) by default
//   --out FILE                  write the report there instead of standard output
//   --html FILE                 also write the HTML page there, and print its path
//   --lsoa-table FILE           the council's postcode -> LSOA CSV (else the config's "lsoa_table")
//   --no-suppress               exact small numbers, for use inside the local authority only
//   --trend-periods N           periods in the trends, this one included (1-20, default 5)
// Every run is an audit event ("report", server chain) naming the period, the format and
// whether small numbers were suppressed (an output with them not suppressed is a disclosure
// decision, STYLE: every such decision is audited).
#include <cstdint>
#include <ostream>
#include <string>

#include "hearth/core/tenant_config.hpp"
#include "storage/audit_log.hpp"
#include "storage/caseload.hpp"
#include "storage/records.hpp"

namespace hearth::server {

struct ReportArgs {
  std::string period, from, to;
  std::string format = "text";
  std::string out, html, lsoa_table;
  bool no_suppress = false;
  int trend_periods = 5;
};

// Runs the report; the table or document goes to `out` (or --out), messages to `err`.
// Exit status: 0 written; 1 bad arguments, an unreadable table or a storage failure (the
// message says which).
int report_command(const ReportArgs& args, RecordStore& records, Caseload& directory, AuditLog& audit,
                   const TenantConfig& config, int64_t now_ms, std::ostream& out, std::ostream& err);

}  // namespace hearth::server
