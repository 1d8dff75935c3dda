// issue 10 part 6: the KPI report's HTML page opened in a real headless Chromium (Debian's
// package, TOOLCHAIN.md §10). The test reads the DOM Chromium built (--dump-dom) and checks the
// charts' elements and the tables' rows and values against the report it was made from, and
// keeps a screenshot with the test output (build/Testing/report-chromium/report.png).
//
// Heavy: run in the release pass of scripts/test.sh only (the sanitizer pass excludes names
// starting "chromium:"). Skipped when Chromium is not installed, unless CI=true.
#include <catch2/catch.hpp>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "../support/kpi_dataset.hpp"
#include "../support/must.hpp"
#include "../support/process.hpp"
#include "report/kpi.hpp"
#include "report/render.hpp"

using namespace hearth;
using namespace hearth::server::report;
using hearth::test::must;

namespace {

std::string find_chromium() {
  if (const char* given = std::getenv("HEARTH_CHROMIUM")) return ::access(given, X_OK) == 0 ? given : "";
  for (const char* p : {"/usr/bin/chromium", "/usr/bin/chromium-browser"})
    if (::access(p, X_OK) == 0) return p;
  return {};
}

bool have_chromium() {
  if (!find_chromium().empty()) return true;
  const char* ci = std::getenv("CI");
  if (ci && std::string(ci) == "true") FAIL("chromium is not installed and CI=true: run scripts/install-deps.sh");
  WARN("chromium is not installed: skipping (apt-get install chromium fonts-dejavu-core)");
  return false;
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Chromium, bounded by timeout(1): a page that never finishes fails the test instead of hanging it.
test::ProcessResult chromium(const std::filesystem::path& dir, std::vector<std::string> args) {
  std::vector<std::string> all = {"90", find_chromium(), "--headless=new", "--no-sandbox", "--disable-gpu",
                                  "--no-first-run", "--user-data-dir=" + (dir / "profile").string()};
  all.insert(all.end(), args.begin(), args.end());
  return test::run_process("/usr/bin/timeout", all, dir.string(), {{"HOME", dir.string()}});
}

std::string html_text(const std::string& s) {  // as Chromium serialises text
  std::string out;
  for (char c : s) {
    if (c == '&') out += "&amp;";
    else if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else out.push_back(c);
  }
  return out;
}

size_t occurrences(const std::string& hay, const std::string& needle) {
  size_t n = 0;
  for (size_t at = hay.find(needle); at != std::string::npos; at = hay.find(needle, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("chromium: the KPI report page renders its charts and tables with the report's values", "[e2e][report][chromium]") {
  if (!have_chromium()) return;
  test::KpiDatasetSpec spec;
  spec.families = 300;
  auto ds = test::make_kpi_dataset(spec);
  KpiInputBuilder b;
  for (const auto& rec : ds.records) must(b.add(rec.json));
  KpiInput input = b.take();
  input.agency_of_practitioner = ds.agency_of_practitioner;
  for (const auto& [pc, code] : ds.lsoa_table) input.lsoa_of_postcode[normalise_postcode(pc)] = code;
  TenantConfig config;
  must(config.set("closed_dates", "2026-08-31"));
  KpiReport r = compute_report(input, must(parse_quarter("2026-Q3")), config);
  RenderOptions o;
  o.generated_at = "2026-12-01T00:00:00Z";

  // Kept with the test output.
  const std::filesystem::path dir = test::build_binary("Testing/report-chromium");
  std::filesystem::create_directories(dir);
  const auto page = dir / "report.html";
  std::ofstream(page, std::ios::binary) << render_html(r, o);

  auto dumped = chromium(dir, {"--dump-dom", "file://" + page.string()});
  INFO(dumped.err.substr(0, 2000));
  REQUIRE(dumped.code == 0);
  const std::string dom = dumped.out;
  std::ofstream(dir / "dom.html", std::ios::binary) << dom;

  // The page was parsed as a document: the tables gained their tbody, the SVG is in the DOM.
  CHECK(dom.find("<table id=\"kpi-table\"><tbody>") != std::string::npos);
  CHECK(dom.find("<svg id=\"chart-trends\"") != std::string::npos);
  CHECK(dom.find("<svg id=\"chart-distance\"") != std::string::npos);
  CHECK(dom.find("<span id=\"period\">2026-Q3</span>") != std::string::npos);

  // Trends chart: one line per headline and one circle per point shown.
  CHECK(occurrences(dom, "<path class=\"series\"") == r.trends.size());
  size_t points = 0;
  for (const auto& t : r.trends)
    for (const auto& [period, v] : t.points) {
      if (v >= 1 && v <= 4) {
        CHECK(dom.find("data-series=\"" + t.kpi + "/" + t.measure + "\" data-period=\"" + period + "\"") == std::string::npos);
        continue;
      }
      ++points;
      std::string circle = "<circle class=\"point\" data-series=\"" + t.kpi + "/" + t.measure + "\" data-period=\"" + period +
                           "\" data-value=\"" + std::to_string(v) + "\"";
      INFO(circle);
      CHECK(dom.find(circle) != std::string::npos);
    }
  CHECK(occurrences(dom, "<circle class=\"point\"") == points);
  CHECK(points >= 10);

  // Distance travelled: a baseline and a latest bar per area shown, with the means.
  REQUIRE(r.distance.size() >= 3);
  size_t bars = 0;
  for (const auto& a : r.distance) {
    if (a.series >= 1 && a.series <= 4) continue;
    ++bars;
    char base[32], latest[32];
    std::snprintf(base, sizeof base, "%.2f", a.mean_baseline);
    std::snprintf(latest, sizeof latest, "%.2f", a.mean_latest);
    CHECK(dom.find("<rect class=\"bar baseline\" data-area=\"" + a.area + "\" data-value=\"" + base + "\"") != std::string::npos);
    CHECK(dom.find("<rect class=\"bar latest\" data-area=\"" + a.area + "\" data-value=\"" + latest + "\"") != std::string::npos);
  }
  CHECK(occurrences(dom, "<rect class=\"bar baseline\"") == bars);

  // The KPI table: every measure's row with its value as shown (small numbers as <5).
  size_t rows = 0;
  for (const auto& k : r.kpis)
    for (const auto& m : k.measures) {
      ++rows;
      std::string row = "<tr data-kpi=\"" + k.id + "\" data-measure=\"" + m.key + "\"><td>" + k.id + "</td><td>" + html_text(m.label) +
                        "</td><td class=\"value\">" + html_text(shown(m, true)) + "</td></tr>";
      INFO(row);
      CHECK(dom.find(row) != std::string::npos);
    }
  CHECK(occurrences(dom, "<tr data-kpi=\"K-") == rows + r.not_computed.size());
  const Measure* ehas = r.measure("K-01", "assessments");
  REQUIRE(ehas);
  CHECK(ehas->n >= 5);  // a real figure, not a suppressed one
  for (const auto& n : r.not_computed) CHECK(dom.find("<tr data-kpi=\"" + n.id + "\"><td>" + n.id + "</td>") != std::string::npos);

  // And a picture of it, kept with the test output.
  const auto png = dir / "report.png";
  std::filesystem::remove(png);
  auto shot = chromium(dir, {"--window-size=1200,2400", "--hide-scrollbars", "--screenshot=" + png.string(), "file://" + page.string()});
  INFO(shot.err.substr(0, 2000));
  REQUIRE(shot.code == 0);
  const std::string bytes = read_file(png);
  REQUIRE(bytes.size() > 10000);
  CHECK(bytes.substr(0, 8) == std::string("\x89PNG\r\n\x1a\n", 8));
}
