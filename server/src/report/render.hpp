#pragma once
// The KPI report (report/kpi.hpp) as text, CSV, JSON or a self-contained HTML page.
//
// Small numbers (DOMAIN.md §12.1, "cells < 5 suppressed in any output leaving the LA"): unless
// RenderOptions::suppress is false, every count from 1 to 4 is shown as "<5", and every rate,
// mean or median built from such a count (its numerator, denominator or basis) is shown as "<5"
// too, since it would give the count away. 0 is shown. In JSON a suppressed value is null with
// "suppressed": true and "shown": "<5". Secondary suppression (a hidden cell recovered from a
// total minus the other cells) is not applied: the totals here are of distinct units, not sums
// of the cells, which makes it rarely possible, but not never.
//
// JSON shape (format "hearth-kpi-report/1"):
//   {"format":"hearth-kpi-report/1",
//    "period":{"label":"2026-Q3","from":"2026-07-01","to":"2026-10-01","half_open":true},
//    "generated_at":"<UTC time>",
//    "suppression":{"applied":true,"threshold":5,"marker":"<5"},
//    "exclusions":{"duplicate_episodes":V,"merged_persons":V},
//    "kpis":[{"id":"K-01","title":"...","measures":[M...],"breakdowns":[B...],"notes":["..."]}],
//    "not_computed":[{"id":"K-13","title":"...","needs":"..."}],
//    "trends":[{"kpi":"K-01","measure":"assessments","label":"...","points":[{"period":"2026-Q3",V}]}],
//    "distance_travelled":[{"area":"WELLBEING","series":V,"mean_baseline":x,"mean_latest":x,"mean_delta":x}],
//    "notes":["..."]}
//   M = {"key","label","kind":"count"|"rate"|"number","unit", then
//        count:  "value":n,
//        rate:   "numerator":n,"denominator":n,"percent":x (null when the denominator is 0),
//        number: "value":x,"basis":n;
//        and always "shown":"text as printed","suppressed":bool (suppressed: the numbers are null)}
//   B = {"dimension":"agency","unit":"assessments","cells":[{"category":"SCHOOL","value":n|null,"shown":"..."}]}
//   V = a count: n, or null when suppressed (then "<name>_shown":"<5").
//
// CSV: one table, RFC 4180, header
//   section,kpi,key,category,unit,numerator,denominator,value,shown
// with section "measure" (key = measure key), "breakdown" (key = dimension), "trend" (key =
// measure, category = period), "distance" (key = area; value = mean delta) and "not_computed"
// (category = what it needs). Suppressed cells have empty numbers and "<5" in `shown`.
//
// HTML: one page, no script and nothing fetched: inline CSS, the trends and the K-10 distance
// travelled drawn as inline SVG (svg#chart-trends with path.series and circle.point
// [data-series, data-period, data-value]; svg#chart-distance with rect.bar.baseline and
// rect.bar.latest [data-area, data-value]), and tables (table#kpi-table rows tr[data-kpi,
// data-measure] with td.value; table.breakdown[data-kpi, data-dimension]; table#trend-table;
// table#distance-table; table#not-computed).
// Thread-safety: pure functions.
#include <string>

#include "report/kpi.hpp"

namespace hearth::server::report {

struct RenderOptions {
  bool suppress = true;
  std::string generated_at;  // UTC time the report was made, printed as given
};

// The value of a measure as printed ("12", "62.5% (10/16)", "3.5 hours", "<5").
std::string shown(const Measure& m, bool suppress);
// A count as printed: "<5" for 1 to 4 when suppressing.
std::string shown_count(int64_t n, bool suppress);

std::string render_text(const KpiReport& r, const RenderOptions& o);
std::string render_csv(const KpiReport& r, const RenderOptions& o);
std::string render_json(const KpiReport& r, const RenderOptions& o);
std::string render_html(const KpiReport& r, const RenderOptions& o);

}  // namespace hearth::server::report
