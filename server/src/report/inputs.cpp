// The KPI report's inputs (inputs.hpp).
#include "report/inputs.hpp"

#include <algorithm>
#include <set>

namespace hearth::server::report {

namespace {

// One CSV line's cells (RFC 4180 quoting within the line; a quoted newline is not expected in
// a postcode table and ends the row).
std::vector<std::string> cells_of(const std::string& line) {
  std::vector<std::string> out(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        out.back().push_back('"');
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        out.back().push_back(c);
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      out.emplace_back();
    } else if (c != '\r') {
      out.back().push_back(c);
    }
  }
  return out;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t"), e = s.find_last_not_of(" \t");
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

}  // namespace

Result<KpiInput> read_kpi_input(RecordStore& records, Caseload& directory) {
  KpiInputBuilder builder;
  // One pass over every record, keeping the report's types: measured faster than one query per
  // type (tests/bench/bench_report.cpp), whose type filter the records store does not serve
  // from its index.
  const std::set<std::string> wanted(report_record_types().begin(), report_record_types().end());
  auto scanned = records.scan(RecordQuery{}, [&](const StoredRecord& r) -> Result<bool> {
    if (!wanted.count(r.type)) return true;
    if (auto added = builder.add(r.json); !added)
      return make_error(added.error().code, "record " + r.id + " (" + r.type + "): " + added.error().message);
    return true;
  });
  if (!scanned) return scanned.error();
  // The directory first; the Practitioner and Organisation records where it does not know them.
  KpiInput& in = builder.input();
  std::map<std::string, std::string> type_of_org;
  for (const auto& author : builder.authors()) {
    std::string org_id;
    auto org = directory.organisation_of(author);
    if (org) org_id = *org;
    else if (org.error().code != ErrorCode::not_found) return org.error();
    else if (auto rec = in.organisation_of_practitioner.find(author); rec != in.organisation_of_practitioner.end())
      org_id = rec->second;
    if (org_id.empty()) continue;  // an "UNKNOWN" agency
    auto known = type_of_org.find(org_id);
    if (known == type_of_org.end()) {
      std::string type = "UNKNOWN";
      auto listed = directory.organisation_type(org_id);
      if (listed) type = *listed;
      else if (listed.error().code != ErrorCode::not_found) return listed.error();
      else if (auto rec = in.org_type_of_organisation.find(org_id); rec != in.org_type_of_organisation.end())
        type = rec->second;
      known = type_of_org.emplace(org_id, type).first;
    }
    in.agency_of_practitioner[author] = known->second;
  }
  return builder.take();
}

Result<LsoaTable> read_lsoa_table(std::istream& csv, const std::string& name) {
  LsoaTable table;
  std::string line;
  if (!std::getline(csv, line)) return make_error(ErrorCode::invalid_argument, name + " is empty: it needs a header row");
  auto header = cells_of(line);
  int postcode = -1, lsoa = -1;
  for (size_t i = 0; i < header.size(); ++i) {
    std::string h = lower(trim(header[i]));
    if (h.size() >= 3 && static_cast<unsigned char>(h[0]) == 0xef) h = h.substr(3);  // a UTF-8 byte order mark
    if (postcode < 0 && (h == "postcode" || h == "pcds" || h == "pcd" || h == "pcd7" || h == "pcd8")) postcode = static_cast<int>(i);
    if (lsoa < 0 && (h == "lsoa" || h == "lsoa_code" || h == "lsoa21cd" || h == "lsoa11cd")) lsoa = static_cast<int>(i);
  }
  if (postcode < 0 || lsoa < 0)
    return make_error(ErrorCode::invalid_argument,
                      name + ": the header '" + line.substr(0, 200) +
                          "' names no postcode column (postcode, pcds, pcd, pcd7, pcd8) or no LSOA column (lsoa, "
                          "lsoa_code, lsoa21cd, lsoa11cd)");
  const auto need = static_cast<size_t>(std::max(postcode, lsoa));
  while (std::getline(csv, line)) {
    if (trim(line).empty()) continue;
    auto cells = cells_of(line);
    if (cells.size() <= need) {
      ++table.skipped;
      continue;
    }
    std::string pc = normalise_postcode(trim(cells[static_cast<size_t>(postcode)]));
    std::string code = trim(cells[static_cast<size_t>(lsoa)]);
    if (pc.empty() || code.empty()) {
      ++table.skipped;
      continue;
    }
    table.lsoa_of_postcode[pc] = code;
  }
  return table;
}

}  // namespace hearth::server::report
