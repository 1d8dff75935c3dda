// hearth-bench-report: the KPI report's time for a council-sized caseload (issue 10 part 8):
// N families (20,000 by default) with a year of activity, written as the server's current
// records into a real SQLite database sealed at rest (the server's storage and keyring), then
//   scan     the raw time to read back and unseal every record of the types the report reads
//            (no parsing), and of every record (Contacts included), for comparison;
//   read     the report's read: the same scan, each record parsed into the report's rows;
//   compute  compute_report for one quarter with its trends (five quarters);
//   render   the text, JSON, CSV and HTML outputs.
// Prints the figures; asserts nothing about speed.
//   hearth-bench-report [--families N] [--contacts N] [--dir DIR] [--keep]
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <string>

#include "../support/kpi_dataset.hpp"
#include "keys/kek.hpp"
#include "keys/keyring.hpp"
#include "report/inputs.hpp"
#include "report/kpi.hpp"
#include "report/render.hpp"
#include "storage/storage.hpp"

using namespace hearth;
using namespace hearth::server;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

[[noreturn]] void die(const std::string& what) {
  std::cerr << "hearth-bench-report: " << what << "\n";
  std::exit(1);
}
template <typename T>
T must(Result<T> r, const char* what) {
  if (!r) die(std::string(what) + ": " + r.error().describe());
  return std::move(r.value());
}
void must(Result<void> r, const char* what) {
  if (!r) die(std::string(what) + ": " + r.error().describe());
}
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }
// Process CPU seconds: the machine may be shared, so wall time is printed with CPU time.
double cpu() { return static_cast<double>(std::clock()) / CLOCKS_PER_SEC; }

}  // namespace

int main(int argc, char** argv) {
  int families = 20000, contacts = 20;
  fs::path dir = fs::temp_directory_path() / "hearth-bench-report";
  bool keep = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--families" && i + 1 < argc) families = std::stoi(argv[++i]);
    else if (a == "--contacts" && i + 1 < argc) contacts = std::stoi(argv[++i]);
    else if (a == "--dir" && i + 1 < argc) dir = argv[++i];
    else if (a == "--keep") keep = true;
    else die("usage: hearth-bench-report [--families N] [--contacts N] [--dir DIR] [--keep]");
  }
  fs::remove_all(dir);
  fs::create_directories(dir);

  auto t = Clock::now();
  test::KpiDatasetSpec spec;
  spec.families = families;
  spec.contacts_per_family = contacts;
  auto ds = test::make_kpi_dataset(spec);
  std::printf("dataset: %d families, %zu records (%d contacts per family), a year of activity [%s, %s); generated in %.2f s\n",
              families, ds.records.size(), contacts, spec.activity_from.c_str(), spec.activity_to.c_str(), since(t));

  // The server's storage, sealed at rest as hearth-server runs it.
  auto kek = must(keys::FileKek::from_secret(std::string(32, 'k'), "the benchmark KEK"), "KEK");
  std::shared_ptr<ServerKeys> ring = must(SqlKeyring::open((dir / "keyring.db").string(), std::move(kek)), "keyring");
  auto audit_key = must(audit::AuditKey::from_secret(std::string(32, 'a')), "audit key");
  auto store = must(open_sqlite_storage((dir / "hearth-server.db").string(), audit_key, ring), "storage");
  for (const auto& [org, type] : ds.org_type) must(store->caseload().add_organisation(org, org, type), "organisation");
  for (const auto& [p, org] : ds.organisation_of) must(store->caseload().add_practitioner(p, org, p, "PRACTITIONER"), "practitioner");

  t = Clock::now();
  int64_t revision = 0;
  const size_t batch = 2000;
  for (size_t i = 0; i < ds.records.size(); i += batch) {
    must(store->transaction([&]() -> Result<void> {
      for (size_t j = i; j < std::min(ds.records.size(), i + batch); ++j) {
        const auto& rec = ds.records[j];
        StoredRecord r;
        r.id = rec.id;
        r.type = rec.type;
        r.family = rec.family;
        r.revision = ++revision;
        r.updated_at = 1790000000000;
        r.occurred = "2026-06-01";
        r.json = rec.json;
        if (auto put = store->records().put(r); !put) return put;
      }
      return {};
    }), "writing records");
  }
  std::printf("written: %zu records sealed into SQLite in %.2f s (%.0f records/s)\n", ds.records.size(), since(t),
              static_cast<double>(ds.records.size()) / since(t));

  // Raw scans: the report's types, then every record.
  t = Clock::now();
  double c0 = cpu();
  size_t scanned = 0, bytes = 0;
  for (const auto& type : report::report_record_types()) {
    RecordQuery q;
    q.type = type;
    must(store->records().scan(q, [&](const StoredRecord& r) -> Result<bool> {
      ++scanned;
      bytes += r.json.size();
      return true;
    }), "scan");
  }
  const double scan_types = since(t), scan_types_cpu = cpu() - c0;
  t = Clock::now();
  c0 = cpu();
  size_t all = 0;
  must(store->records().scan(RecordQuery{}, [&](const StoredRecord&) -> Result<bool> {
    ++all;
    return true;
  }), "scan all");
  const double scan_all = since(t), scan_all_cpu = cpu() - c0;
  std::printf("scan (no report), wall/CPU: %zu records of the report's %zu types, one query per type (%.1f MB of JSON) in "
              "%.2f/%.2f s; all %zu records in one query in %.2f/%.2f s\n",
              scanned, report::report_record_types().size(), static_cast<double>(bytes) / 1e6, scan_types, scan_types_cpu, all,
              scan_all, scan_all_cpu);

  t = Clock::now();
  c0 = cpu();
  auto input = must(report::read_kpi_input(store->records(), store->caseload()), "read");
  const double read = since(t), read_cpu = cpu() - c0;
  for (const auto& [pc, code] : ds.lsoa_table) input.lsoa_of_postcode[report::normalise_postcode(pc)] = code;
  TenantConfig config;
  must(config.set("closed_dates", "2026-08-31,2026-12-25"), "config");
  t = Clock::now();
  c0 = cpu();
  auto kpis = report::compute_report(input, must(report::parse_quarter("2026-Q3"), "period"), config);
  const double compute = since(t), compute_cpu = cpu() - c0;
  t = Clock::now();
  c0 = cpu();
  report::RenderOptions o;
  size_t out_bytes = report::render_text(kpis, o).size() + report::render_json(kpis, o).size() +
                     report::render_csv(kpis, o).size() + report::render_html(kpis, o).size();
  const double render = since(t), render_cpu = cpu() - c0;
  std::printf("report 2026-Q3, wall/CPU: read %.2f/%.2f s (one scan, the report's types parsed), compute %.2f/%.2f s "
              "(this quarter and 4 before, for the trends), render %.3f/%.3f s (4 formats, %zu bytes); total %.2f/%.2f s\n",
              read, read_cpu, compute, compute_cpu, render, render_cpu, out_bytes, read + compute + render,
              read_cpu + compute_cpu + render_cpu);
  const auto* ehas = kpis.measure("K-01", "assessments");
  const auto* fams = kpis.measure("K-06", "families");
  std::printf("figures: K-01 EHAs completed %lld, K-06 families supported %lld\n", static_cast<long long>(ehas ? ehas->n : 0),
              static_cast<long long>(fams ? fams->n : 0));
  store.reset();
  if (!keep) fs::remove_all(dir);
  return 0;
}
