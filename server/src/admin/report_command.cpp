// `hearth-server report` (report_command.hpp).
#include "admin/report_command.hpp"

#include <filesystem>
#include <fstream>

#include "hearth/core/civil_time.hpp"
#include "report/inputs.hpp"
#include "report/kpi.hpp"
#include "report/render.hpp"

namespace hearth::server {

namespace {

// Writes `text` to `path` whole, or says why not.
Result<void> write_file(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) return make_error(ErrorCode::storage, "cannot write " + path);
  f << text;
  f.flush();
  if (!f) return make_error(ErrorCode::storage, "writing " + path + " failed (disk full?)");
  return {};
}

}  // namespace

int report_command(const ReportArgs& args, RecordStore& records, Caseload& directory, AuditLog& audit,
                   const TenantConfig& config, int64_t now_ms, std::ostream& out, std::ostream& err) {
  auto fail = [&](const std::string& message) {
    err << "hearth-server: report: " << message << "\n";
    return 1;
  };
  if (args.format != "text" && args.format != "csv" && args.format != "json" && args.format != "html")
    return fail("--format '" + args.format + "' is not one of text, csv, json, html");
  if (args.trend_periods < 1 || args.trend_periods > 20) return fail("--trend-periods must be from 1 to 20");
  Result<report::Period> period = make_error(ErrorCode::invalid_argument, "");
  if (!args.period.empty() && (!args.from.empty() || !args.to.empty()))
    return fail("give either --period or --from and --to, not both");
  if (args.period == "current" || args.period == "previous") {
    // The quarter holding today (UTC), or the one before it.
    const civil::Ymd today = civil::civil_from_days(civil::day_of(now_ms));
    period = report::parse_quarter(std::to_string(today.y) + "-Q" + std::to_string((today.m - 1) / 3 + 1));
    if (period && args.period == "previous") period = report::previous_period(*period);
  } else if (!args.period.empty()) {
    period = report::parse_quarter(args.period);
  } else if (!args.from.empty() && !args.to.empty()) {
    period = report::explicit_period(args.from, args.to);
  } else {
    return fail("give --period YYYY-Qn (e.g. 2026-Q3, or current, or previous), or --from DATE --to DATE");
  }
  if (!period) return fail(period.error().message);

  auto input = report::read_kpi_input(records, directory);
  if (!input) return fail("reading the records failed: " + input.error().message);
  if (!args.lsoa_table.empty()) {
    std::ifstream csv(args.lsoa_table, std::ios::binary);
    if (!csv) return fail("cannot read the LSOA table " + args.lsoa_table);
    auto table = report::read_lsoa_table(csv, args.lsoa_table);
    if (!table) return fail(table.error().message);
    input->lsoa_of_postcode = std::move(table->lsoa_of_postcode);
    if (table->skipped > 0)
      err << "hearth-server: report: " << table->skipped << " rows of " << args.lsoa_table
          << " had no postcode or no LSOA and were skipped\n";
  }

  report::ReportOptions options;
  options.trend_periods = args.trend_periods;
  report::KpiReport kpis = report::compute_report(*input, *period, config, options);
  report::RenderOptions render;
  render.suppress = !args.no_suppress;
  render.generated_at = civil::format_datetime_seconds(now_ms);

  // Audited before anything leaves.
  const std::string detail = "period " + period->label + ", format " + args.format +
                             (args.html.empty() ? "" : " and html") +
                             (render.suppress ? ", small numbers suppressed" : ", NOT SUPPRESSED (inside the LA only)");
  if (auto logged = audit.append(AuditEvent{now_ms, "admin", "", "report", "", detail}); !logged)
    return fail("recording the audit event failed: " + logged.error().message);

  std::string text = args.format == "csv"    ? report::render_csv(kpis, render)
                     : args.format == "json" ? report::render_json(kpis, render)
                     : args.format == "html" ? report::render_html(kpis, render)
                                             : report::render_text(kpis, render);
  if (args.out.empty()) {
    out << text;
  } else {
    if (auto w = write_file(args.out, text); !w) return fail(w.error().message);
    out << "KPI report for " << period->label << " (" << args.format << ") written to "
        << std::filesystem::absolute(args.out).string() << "\n";
  }
  if (!args.html.empty()) {
    if (auto w = write_file(args.html, report::render_html(kpis, render)); !w) return fail(w.error().message);
    out << "HTML report: " << std::filesystem::absolute(args.html).string() << "\n";
  }
  return 0;
}

}  // namespace hearth::server
