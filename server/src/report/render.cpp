// The KPI report's four formats (render.hpp).
#include "report/render.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "hearth/core/civil_time.hpp"
#include "hearth/core/text.hpp"

namespace hearth::server::report {

namespace {

using json = nlohmann::json;
constexpr const char* kMarker = "<5";

bool small(int64_t n) { return n >= 1 && n <= 4; }

bool hidden(const Measure& m, bool suppress) {
  if (!suppress) return false;
  switch (m.kind) {
    case Measure::Kind::count: return small(m.n);
    case Measure::Kind::rate: return small(m.num) || small(m.den);
    case Measure::Kind::number: return small(m.basis);
  }
  return false;
}

std::string fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string percent_text(int64_t num, int64_t den) {
  if (den == 0) return "-";
  return fixed(100.0 * static_cast<double>(num) / static_cast<double>(den), 1) + "%";
}

std::string esc(const std::string& s) { return html_escape(s); }

std::string csv_cell(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += "\"\"";
    else out.push_back(c);
  }
  return out + "\"";
}

std::string kind_name(Measure::Kind k) {
  switch (k) {
    case Measure::Kind::count: return "count";
    case Measure::Kind::rate: return "rate";
    case Measure::Kind::number: return "number";
  }
  return "count";
}

std::string period_line(const KpiReport& r) {
  return r.period.label + " [" + civil::format_date(r.period.from_day) + ", " + civil::format_date(r.period.to_day) + ")";
}

json count_json(int64_t n, bool suppress) { return suppress && small(n) ? json(nullptr) : json(n); }

// ---- SVG charts ----

// The trends as a line chart: one path per headline, a circle per shown point.
std::string trends_svg(const KpiReport& r, bool suppress) {
  static const char* kColours[] = {"#1f5f99", "#b5461b", "#2e7d32", "#6a3d9a"};
  const double W = 640, H = 280, left = 48, right = 170, top = 16, bottom = 40;
  int64_t max_v = 1;
  size_t n_points = 0;
  for (const auto& t : r.trends) {
    n_points = std::max(n_points, t.points.size());
    for (const auto& [p, v] : t.points) max_v = std::max(max_v, v);
  }
  const double plot_w = W - left - right, plot_h = H - top - bottom;
  auto x_of = [&](size_t i) { return left + (n_points <= 1 ? plot_w / 2 : plot_w * static_cast<double>(i) / static_cast<double>(n_points - 1)); };
  auto y_of = [&](int64_t v) { return top + plot_h - plot_h * static_cast<double>(v) / static_cast<double>(max_v); };
  std::ostringstream s;
  s << "<svg id=\"chart-trends\" class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"" << W << "\" height=\"" << H
    << "\" viewBox=\"0 0 " << W << " " << H << "\" role=\"img\" aria-label=\"Trends of headline counts by period\">";
  s << "<line class=\"axis\" x1=\"" << left << "\" y1=\"" << top + plot_h << "\" x2=\"" << left + plot_w << "\" y2=\"" << top + plot_h
    << "\" stroke=\"#444\"/>";
  s << "<line class=\"axis\" x1=\"" << left << "\" y1=\"" << top << "\" x2=\"" << left << "\" y2=\"" << top + plot_h << "\" stroke=\"#444\"/>";
  s << "<text x=\"" << left - 6 << "\" y=\"" << top + 4 << "\" text-anchor=\"end\" font-size=\"11\">" << max_v << "</text>";
  s << "<text x=\"" << left - 6 << "\" y=\"" << top + plot_h << "\" text-anchor=\"end\" font-size=\"11\">0</text>";
  if (!r.trends.empty())
    for (size_t i = 0; i < r.trends.front().points.size(); ++i)
      s << "<text class=\"tick\" x=\"" << x_of(i) << "\" y=\"" << H - bottom + 16 << "\" text-anchor=\"middle\" font-size=\"11\">"
        << esc(r.trends.front().points[i].first) << "</text>";
  for (size_t k = 0; k < r.trends.size(); ++k) {
    const Trend& t = r.trends[k];
    const char* colour = kColours[k % 4];
    const std::string series = t.kpi + "/" + t.measure;
    // One path per series; a hidden cell is not drawn, and the line breaks there rather than
    // joining its neighbours as if it were known.
    std::ostringstream d;
    bool pen_down = false;
    for (size_t i = 0; i < t.points.size(); ++i) {
      if (suppress && small(t.points[i].second)) {
        pen_down = false;
        continue;
      }
      d << (d.tellp() > 0 ? " " : "") << (pen_down ? "L" : "M") << x_of(i) << "," << y_of(t.points[i].second);
      pen_down = true;
    }
    s << "<path class=\"series\" data-series=\"" << esc(series) << "\" fill=\"none\" stroke=\"" << colour
      << "\" stroke-width=\"2\" d=\"" << d.str() << "\"/>";
    for (size_t i = 0; i < t.points.size(); ++i) {
      const auto& [period, v] = t.points[i];
      if (suppress && small(v)) continue;
      s << "<circle class=\"point\" data-series=\"" << esc(series) << "\" data-period=\"" << esc(period) << "\" data-value=\"" << v
        << "\" cx=\"" << x_of(i) << "\" cy=\"" << y_of(v) << "\" r=\"3.5\" fill=\"" << colour << "\"><title>" << esc(t.label)
        << " " << esc(period) << ": " << v << "</title></circle>";
    }
    s << "<rect x=\"" << W - right + 10 << "\" y=\"" << top + 18 * static_cast<double>(k) << "\" width=\"10\" height=\"10\" fill=\""
      << colour << "\"/><text class=\"legend\" x=\"" << W - right + 24 << "\" y=\"" << top + 9 + 18 * static_cast<double>(k)
      << "\" font-size=\"11\">" << esc(t.kpi + " " + t.label) << "</text>";
  }
  s << "</svg>";
  return s.str();
}

// K-10 distance travelled: mean baseline and mean latest score per area, as paired bars.
std::string distance_svg(const KpiReport& r, bool suppress) {
  std::vector<const AreaDistance*> shown_areas;
  for (const auto& a : r.distance)
    if (!(suppress && small(a.series))) shown_areas.push_back(&a);
  double max_v = 1;
  for (const auto* a : shown_areas) max_v = std::max({max_v, a->mean_baseline, a->mean_latest});
  max_v = std::ceil(max_v);
  const double left = 170, top = 16, row = 26, bar = 10, plot_w = 380;
  const double H = top + row * static_cast<double>(std::max<size_t>(shown_areas.size(), 1)) + 36, W = left + plot_w + 60;
  std::ostringstream s;
  s << "<svg id=\"chart-distance\" class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"" << W << "\" height=\"" << H
    << "\" viewBox=\"0 0 " << W << " " << H << "\" role=\"img\" aria-label=\"Distance travelled: mean baseline and latest score by area\">";
  s << "<line class=\"axis\" x1=\"" << left << "\" y1=\"" << top - 4 << "\" x2=\"" << left << "\" y2=\"" << H - 30
    << "\" stroke=\"#444\"/>";
  for (size_t i = 0; i < shown_areas.size(); ++i) {
    const AreaDistance& a = *shown_areas[i];
    const double y = top + row * static_cast<double>(i);
    const double wb = plot_w * a.mean_baseline / max_v, wl = plot_w * a.mean_latest / max_v;
    s << "<text class=\"area-label\" x=\"" << left - 6 << "\" y=\"" << y + bar + 2 << "\" text-anchor=\"end\" font-size=\"11\">"
      << esc(a.area) << "</text>";
    s << "<rect class=\"bar baseline\" data-area=\"" << esc(a.area) << "\" data-value=\"" << fixed(a.mean_baseline, 2) << "\" x=\""
      << left << "\" y=\"" << y << "\" width=\"" << wb << "\" height=\"" << bar << "\" fill=\"#9bb7d4\"><title>" << esc(a.area)
      << " baseline " << fixed(a.mean_baseline, 2) << "</title></rect>";
    s << "<rect class=\"bar latest\" data-area=\"" << esc(a.area) << "\" data-value=\"" << fixed(a.mean_latest, 2) << "\" x=\""
      << left << "\" y=\"" << y + bar << "\" width=\"" << wl << "\" height=\"" << bar << "\" fill=\"#1f5f99\"><title>" << esc(a.area)
      << " latest " << fixed(a.mean_latest, 2) << "</title></rect>";
  }
  s << "<text x=\"" << left << "\" y=\"" << H - 12 << "\" font-size=\"11\">0</text><text x=\"" << left + plot_w << "\" y=\"" << H - 12
    << "\" text-anchor=\"end\" font-size=\"11\">" << fixed(max_v, 0) << "</text>";
  s << "<rect x=\"" << left + 40 << "\" y=\"" << H - 22 << "\" width=\"10\" height=\"10\" fill=\"#9bb7d4\"/><text class=\"legend\" x=\""
    << left + 54 << "\" y=\"" << H - 13 << "\" font-size=\"11\">mean baseline</text>";
  s << "<rect x=\"" << left + 160 << "\" y=\"" << H - 22 << "\" width=\"10\" height=\"10\" fill=\"#1f5f99\"/><text class=\"legend\" x=\""
    << left + 174 << "\" y=\"" << H - 13 << "\" font-size=\"11\">mean latest</text>";
  s << "</svg>";
  return s.str();
}

}  // namespace

std::string shown_count(int64_t n, bool suppress) { return suppress && small(n) ? kMarker : std::to_string(n); }

std::string shown(const Measure& m, bool suppress) {
  if (hidden(m, suppress)) return kMarker;
  switch (m.kind) {
    case Measure::Kind::count: return std::to_string(m.n);
    case Measure::Kind::rate: return percent_text(m.num, m.den) + " (" + std::to_string(m.num) + "/" + std::to_string(m.den) + ")";
    case Measure::Kind::number: return m.basis == 0 ? "-" : fixed(m.value, 1) + " " + m.unit;
  }
  return "";
}

std::string render_text(const KpiReport& r, const RenderOptions& o) {
  std::ostringstream s;
  s << "Hearth KPI report " << period_line(r) << (o.generated_at.empty() ? "" : ", made " + o.generated_at) << "\n";
  s << (o.suppress ? "Counts of 1 to 4, and rates built from them, are shown as <5.\n"
                   : "NOT SUPPRESSED: exact small numbers, for use inside the local authority only.\n");
  size_t width = 10;
  for (const auto& k : r.kpis)
    for (const auto& m : k.measures) width = std::max(width, m.label.size());
  width = std::min<size_t>(width, 78);
  auto pad = [](std::string v, size_t w) {
    if (v.size() > w) v = v.substr(0, w - 3) + "...";
    return v + std::string(w - v.size(), ' ');
  };
  s << pad("KPI", 6) << "  " << pad("Measure", width) << "  Value\n";
  s << std::string(6, '-') << "  " << std::string(width, '-') << "  " << std::string(16, '-') << "\n";
  for (const auto& k : r.kpis)
    for (const auto& m : k.measures) s << pad(k.id, 6) << "  " << pad(m.label, width) << "  " << shown(m, o.suppress) << "\n";
  s << "\nNot computed (what each needs):\n";
  for (const auto& n : r.not_computed) s << "  " << n.id << " " << n.title << ": needs " << n.needs << "\n";
  s << "Excluded: " << shown_count(r.excluded_duplicate_episodes, o.suppress) << " episodes opened in error or duplicate; "
    << shown_count(r.merged_persons, o.suppress) << " persons merged into another.\n";
  for (const auto& n : r.notes) s << "Note: " << n << "\n";
  s << "Breakdowns (level of need, agency, need, age band, sex, ethnicity, disability, LSOA) are in --format json, csv "
       "and html.\n";
  return s.str();
}

std::string render_csv(const KpiReport& r, const RenderOptions& o) {
  std::ostringstream s;
  s << "section,kpi,key,category,unit,numerator,denominator,value,shown\r\n";
  auto line = [&](std::initializer_list<std::string> cells) {
    bool first = true;
    for (const auto& c : cells) {
      s << (first ? "" : ",") << csv_cell(c);
      first = false;
    }
    s << "\r\n";
  };
  for (const auto& k : r.kpis) {
    for (const auto& m : k.measures) {
      const bool h = hidden(m, o.suppress);
      std::string num, den, value;
      if (!h) {
        if (m.kind == Measure::Kind::count) value = std::to_string(m.n);
        if (m.kind == Measure::Kind::rate) {
          num = std::to_string(m.num);
          den = std::to_string(m.den);
          if (m.den) value = fixed(100.0 * static_cast<double>(m.num) / static_cast<double>(m.den), 1);
        }
        if (m.kind == Measure::Kind::number) {
          value = fixed(m.value, 1);
          den = std::to_string(m.basis);
        }
      }
      line({"measure", k.id, m.key, "", m.kind == Measure::Kind::rate ? "percent of " + m.unit : m.unit, num, den, value,
            shown(m, o.suppress)});
    }
    for (const auto& b : k.breakdowns)
      for (const auto& [cat, n] : b.cells)
        line({"breakdown", k.id, b.dimension, cat, b.unit, "", "", o.suppress && small(n) ? "" : std::to_string(n),
              shown_count(n, o.suppress)});
  }
  for (const auto& t : r.trends)
    for (const auto& [period, n] : t.points)
      line({"trend", t.kpi, t.measure, period, "", "", "", o.suppress && small(n) ? "" : std::to_string(n), shown_count(n, o.suppress)});
  for (const auto& a : r.distance) {
    const bool h = o.suppress && small(a.series);
    line({"distance", "K-10", a.area, "", "points", h ? "" : fixed(a.mean_baseline, 2), h ? "" : fixed(a.mean_latest, 2),
          h ? "" : fixed(a.mean_delta, 2), h ? kMarker : fixed(a.mean_delta, 2)});
  }
  for (const auto& n : r.not_computed) line({"not_computed", n.id, n.title, n.needs, "", "", "", "", ""});
  return s.str();
}

std::string render_json(const KpiReport& r, const RenderOptions& o) {
  json out;
  out["format"] = "hearth-kpi-report/1";
  out["period"] = {{"label", r.period.label}, {"from", civil::format_date(r.period.from_day)},
                   {"to", civil::format_date(r.period.to_day)}, {"half_open", true}};
  out["generated_at"] = o.generated_at;
  out["suppression"] = {{"applied", o.suppress}, {"threshold", 5}, {"marker", kMarker}};
  out["exclusions"] = {{"duplicate_episodes", count_json(r.excluded_duplicate_episodes, o.suppress)},
                       {"merged_persons", count_json(r.merged_persons, o.suppress)}};
  json kpis = json::array();
  for (const auto& k : r.kpis) {
    json jk = {{"id", k.id}, {"title", k.title}, {"measures", json::array()}, {"breakdowns", json::array()}, {"notes", k.notes}};
    for (const auto& m : k.measures) {
      const bool h = hidden(m, o.suppress);
      json jm = {{"key", m.key}, {"label", m.label}, {"kind", kind_name(m.kind)}, {"unit", m.unit}};
      if (m.kind == Measure::Kind::count) jm["value"] = h ? json(nullptr) : json(m.n);
      if (m.kind == Measure::Kind::rate) {
        jm["numerator"] = h ? json(nullptr) : json(m.num);
        jm["denominator"] = h ? json(nullptr) : json(m.den);
        jm["percent"] = h || m.den == 0 ? json(nullptr)
                                         : json(std::round(1000.0 * static_cast<double>(m.num) / static_cast<double>(m.den)) / 10.0);
      }
      if (m.kind == Measure::Kind::number) {
        jm["value"] = h || m.basis == 0 ? json(nullptr) : json(m.value);
        jm["basis"] = h ? json(nullptr) : json(m.basis);
      }
      jm["shown"] = shown(m, o.suppress);
      jm["suppressed"] = h;
      jk["measures"].push_back(jm);
    }
    for (const auto& b : k.breakdowns) {
      json jb = {{"dimension", b.dimension}, {"unit", b.unit}, {"cells", json::array()}};
      for (const auto& [cat, n] : b.cells)
        jb["cells"].push_back({{"category", cat}, {"value", count_json(n, o.suppress)}, {"shown", shown_count(n, o.suppress)}});
      jk["breakdowns"].push_back(jb);
    }
    kpis.push_back(jk);
  }
  out["kpis"] = kpis;
  out["not_computed"] = json::array();
  for (const auto& n : r.not_computed) out["not_computed"].push_back({{"id", n.id}, {"title", n.title}, {"needs", n.needs}});
  out["trends"] = json::array();
  for (const auto& t : r.trends) {
    json jt = {{"kpi", t.kpi}, {"measure", t.measure}, {"label", t.label}, {"points", json::array()}};
    for (const auto& [period, n] : t.points)
      jt["points"].push_back({{"period", period}, {"value", count_json(n, o.suppress)}, {"value_shown", shown_count(n, o.suppress)}});
    out["trends"].push_back(jt);
  }
  out["distance_travelled"] = json::array();
  for (const auto& a : r.distance) {
    const bool h = o.suppress && small(a.series);
    out["distance_travelled"].push_back({{"area", a.area}, {"series", count_json(a.series, o.suppress)},
                                         {"series_shown", shown_count(a.series, o.suppress)},
                                         {"mean_baseline", h ? json(nullptr) : json(a.mean_baseline)},
                                         {"mean_latest", h ? json(nullptr) : json(a.mean_latest)},
                                         {"mean_delta", h ? json(nullptr) : json(a.mean_delta)}});
  }
  out["notes"] = r.notes;
  // Text that is not UTF-8 (an LSOA code from a council's file) is replaced, never thrown on.
  return out.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

std::string render_html(const KpiReport& r, const RenderOptions& o) {
  std::ostringstream s;
  s << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
    << "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
    << "<title>Early Help KPI report " << esc(r.period.label) << "</title><style>"
    << "body{font-family:'DejaVu Sans',sans-serif;margin:24px;color:#222;max-width:1100px}"
    << "h1{font-size:22px}h2{font-size:18px;margin-top:28px;border-bottom:1px solid #ccc}h3{font-size:15px}"
    << "table{border-collapse:collapse;margin:8px 0 16px}td,th{border:1px solid #bbb;padding:3px 8px;font-size:13px;text-align:left}"
    << "td.value{text-align:right;white-space:nowrap}th{background:#eef2f6}.note{font-size:12px;color:#555}"
    << ".chart{border:1px solid #ddd;background:#fff;margin:8px 0}"
    << "</style></head><body>\n";
  s << "<h1>Early Help KPI report: <span id=\"period\">" << esc(r.period.label) << "</span></h1>\n";
  s << "<p>Period " << esc(period_line(r)) << ", half-open (DOMAIN.md §12.1)"
    << (o.generated_at.empty() ? "" : "; made " + esc(o.generated_at)) << ".</p>\n";
  s << "<p id=\"suppression\">"
    << (o.suppress ? "Counts of 1 to 4, and rates built from them, are shown as &lt;5 (small numbers suppressed)."
                   : "<strong>NOT SUPPRESSED</strong>: exact small numbers, for use inside the local authority only.")
    << "</p>\n";
  s << "<h2>Trends</h2>\n" << trends_svg(r, o.suppress) << "\n";
  s << "<table id=\"trend-table\"><tr><th>Measure</th>";
  if (!r.trends.empty())
    for (const auto& [period, v] : r.trends.front().points) s << "<th>" << esc(period) << "</th>";
  s << "</tr>";
  for (const auto& t : r.trends) {
    s << "<tr data-series=\"" << esc(t.kpi + "/" + t.measure) << "\"><td>" << esc(t.kpi + " " + t.label) << "</td>";
    for (const auto& [period, v] : t.points) s << "<td class=\"value\">" << esc(shown_count(v, o.suppress)) << "</td>";
    s << "</tr>";
  }
  s << "</table>\n";
  s << "<h2>KPIs</h2>\n<table id=\"kpi-table\"><tr><th>KPI</th><th>Measure</th><th>Value</th></tr>";
  for (const auto& k : r.kpis)
    for (const auto& m : k.measures)
      s << "<tr data-kpi=\"" << esc(k.id) << "\" data-measure=\"" << esc(m.key) << "\"><td>" << esc(k.id) << "</td><td>"
        << esc(m.label) << "</td><td class=\"value\">" << esc(shown(m, o.suppress)) << "</td></tr>";
  s << "</table>\n";
  s << "<h2>K-10 distance travelled</h2>\n" << distance_svg(r, o.suppress) << "\n";
  s << "<table id=\"distance-table\"><tr><th>Area</th><th>Readings pairs</th><th>Mean baseline</th><th>Mean latest</th>"
       "<th>Mean change</th></tr>";
  for (const auto& a : r.distance) {
    const bool h = o.suppress && small(a.series);
    s << "<tr data-area=\"" << esc(a.area) << "\"><td>" << esc(a.area) << "</td><td class=\"value\">"
      << esc(shown_count(a.series, o.suppress)) << "</td><td class=\"value\">" << (h ? "&lt;5" : fixed(a.mean_baseline, 2))
      << "</td><td class=\"value\">" << (h ? "&lt;5" : fixed(a.mean_latest, 2)) << "</td><td class=\"value\">"
      << (h ? "&lt;5" : fixed(a.mean_delta, 2)) << "</td></tr>";
  }
  s << "</table>\n";
  s << "<h2>Breakdowns</h2>\n";
  for (const auto& k : r.kpis)
    for (const auto& b : k.breakdowns) {
      if (b.cells.empty()) continue;
      s << "<h3>" << esc(k.id) << " by " << esc(b.dimension) << " (" << esc(b.unit) << ")</h3><table class=\"breakdown\" data-kpi=\""
        << esc(k.id) << "\" data-dimension=\"" << esc(b.dimension) << "\"><tr><th>" << esc(b.dimension) << "</th><th>"
        << esc(b.unit) << "</th></tr>";
      for (const auto& [cat, n] : b.cells)
        s << "<tr data-category=\"" << esc(cat) << "\"><td>" << esc(cat) << "</td><td class=\"value\">"
          << esc(shown_count(n, o.suppress)) << "</td></tr>";
      s << "</table>\n";
    }
  s << "<h2>Not computed</h2>\n<table id=\"not-computed\"><tr><th>KPI</th><th>Title</th><th>Needs</th></tr>";
  for (const auto& n : r.not_computed)
    s << "<tr data-kpi=\"" << esc(n.id) << "\"><td>" << esc(n.id) << "</td><td>" << esc(n.title) << "</td><td>" << esc(n.needs)
      << "</td></tr>";
  s << "</table>\n<h2>How each KPI was read</h2>\n";
  for (const auto& k : r.kpis)
    for (const auto& n : k.notes) s << "<p class=\"note\"><strong>" << esc(k.id) << "</strong> " << esc(n) << "</p>\n";
  s << "<p class=\"note\">Excluded: " << esc(shown_count(r.excluded_duplicate_episodes, o.suppress))
    << " episodes opened in error or duplicate, " << esc(shown_count(r.merged_persons, o.suppress))
    << " persons merged into another (counted as the person they were merged into).</p>\n";
  for (const auto& n : r.notes) s << "<p class=\"note\">" << esc(n) << "</p>\n";
  s << "</body></html>\n";
  return s.str();
}

}  // namespace hearth::server::report
