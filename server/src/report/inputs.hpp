#pragma once
// Where the KPI report's inputs come from (report/kpi.hpp): the server's current records
// (storage/records.hpp), the directory of practitioners and organisations (storage/caseload.hpp)
// for each assessment's initiating agency, and the council's postcode-to-LSOA table.
// Thread-safety: not thread-safe (reads storage through the caller's connection).
#include <istream>
#include <map>
#include <string>

#include "hearth/core/error.hpp"
#include "report/kpi.hpp"
#include "storage/caseload.hpp"
#include "storage/records.hpp"

namespace hearth::server::report {

// Reads every current (not deleted) record of report_record_types(), one at a time, and
// resolves each assessment author's agency (org_type of their organisation; "UNKNOWN" when the
// directory does not know them). A record that cannot be read stops with its error.
Result<KpiInput> read_kpi_input(RecordStore& records, Caseload& directory);

// The council's postcode -> LSOA table, as CSV with a header row naming a postcode column
// (postcode, pcds, pcd, pcd7 or pcd8) and an LSOA column (lsoa, lsoa_code, lsoa21cd or lsoa11cd),
// any case, other columns ignored (the ONS postcode directories have this shape). Postcodes are
// normalised (normalise_postcode). A file without those columns is ErrorCode::invalid_argument
// naming what it found; a row without both values is skipped and counted in `skipped`.
struct LsoaTable {
  std::map<std::string, std::string> lsoa_of_postcode;
  int64_t skipped = 0;
};
Result<LsoaTable> read_lsoa_table(std::istream& csv, const std::string& name);

}  // namespace hearth::server::report
