#include "audit_query.hpp"

#include <nlohmann/json.hpp>
#include <set>

#include "hearth/core/civil_time.hpp"
#include "hearth/core/text.hpp"
#include "usecases/record_audit.hpp"

namespace hearth::server {

namespace {

using nlohmann::json;

std::string or_dash(const std::string& s) { return s.empty() ? "-" : s; }

std::string field_list(const json& fields) {
  std::string out;
  if (!fields.is_array()) return out;
  for (const auto& f : fields)
    if (f.is_string()) out += (out.empty() ? "" : ", ") + f.get<std::string>();
  return out;
}

std::string text_of(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string time_of(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number_integer() ? civil::format_datetime(it->get<int64_t>()) : std::string("?");
}

// The lines of one listed event: one per record for record-changes and record-viewed, else one.
void print_event(const audit::ListedEvent& l, std::ostream& out) {
  const audit::Event& e = l.event;
  const std::string head = civil::format_datetime(e.at) + "  " + or_dash(e.actor) + "  " + or_dash(e.device) + "  " +
                           or_dash(e.family) + "  ";
  if (l.detail == audit::ListedEvent::Detail::erased) {
    out << head << e.action << "  -  [sealed: family erased]\n";
    return;
  }
  if (!is_valid_utf8(e.detail)) {  // sealed, and this command was given no key to open it
    out << head << e.action << "  -  [sealed: not opened]\n";
    return;
  }
  if (e.action == kRecordChangesAction || e.action == kRecordViewedAction) {
    auto j = json::parse(e.detail, nullptr, false);
    const char* list = e.action == kRecordChangesAction ? "records" : "views";
    if (!j.is_discarded() && j.is_object() && j.contains(list) && j[list].is_array()) {
      for (const auto& r : j[list]) {
        const std::string record = text_of(r, "type") + " " + text_of(r, "id");
        if (e.action == kRecordViewedAction) {
          out << head << "viewed  " << record << "  on the device at " << time_of(r, "at") << "\n";
          continue;
        }
        std::string detail;
        const std::string fields = field_list(r.value("fields", json::array()));
        if (!fields.empty()) detail += "fields " + fields + "; ";
        if (auto to = text_of(r, "to"); !to.empty()) detail += "to " + to + "; ";
        if (auto c = text_of(r, "conflict"); !c.empty()) detail += "conflict " + c + "; ";
        detail += "op " + text_of(r, "op") + " made at " + time_of(r, "op_time");
        out << head << text_of(r, "change") << "  " << record << "  " << detail << "\n";
      }
      return;
    }
  }
  out << head << e.action << "  -  " << e.detail << "\n";
}

// A UTC date or time; a date given as the end of a window takes its whole day.
bool parse_bound(const std::string& option, const std::string& text, bool end, int64_t& into, std::ostream& err) {
  auto ms = civil::parse_ms(text);
  if (!ms) {
    err << "hearth-server: " << option << " '" << text
        << "' is not a UTC date or time (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ)\n";
    return false;
  }
  into = *ms;
  if (end && text.find('T') == std::string::npos) into += civil::kDayMs - 1;
  return true;
}

}  // namespace

int audit_query_command(audit::AuditTrail& trail, const AuditQueryArgs& args, int64_t now_ms, std::ostream& out,
                        std::ostream& err) {
  if (args.family.empty() && args.practitioner.empty() && args.from.empty() && args.to.empty()) {
    err << "hearth-server: audit: give --family, --practitioner, or a window (--from, --to)\n";
    return 1;
  }
  for (const auto& [option, value] : {std::pair<const char*, const std::string*>{"--family", &args.family},
                                      {"--practitioner", &args.practitioner}})
    if (!value->empty())
      if (auto ok = check_id(option, *value); !ok) {
        err << "hearth-server: " << ok.error().message << "\n";
        return 1;
      }
  audit::AuditQuery q;
  q.family = args.family;
  q.actor = args.practitioner;
  if (!args.from.empty() && !parse_bound("--from", args.from, false, q.from, err)) return 1;
  if (!args.to.empty() && !parse_bound("--to", args.to, true, q.to, err)) return 1;
  if (q.from > q.to) {
    err << "hearth-server: --from is after --to\n";
    return 1;
  }
  std::string asked;
  if (!args.family.empty()) asked += "family " + args.family;
  if (!args.practitioner.empty()) asked += (asked.empty() ? "" : ", ") + std::string("practitioner ") + args.practitioner;
  if (!args.from.empty()) asked += (asked.empty() ? "" : ", ") + std::string("from ") + args.from;
  if (!args.to.empty()) asked += (asked.empty() ? "" : ", ") + std::string("to ") + args.to;
  // Audited before anything is shown: no detail is printed unless the question is on record.
  if (auto a = trail.append(audit::Event{now_ms, "admin", "", "audit-query", "", asked}); !a) {
    err << "hearth-server: the query could not be audited, so nothing is shown: " << a.error().message << "\n";
    return 1;
  }
  size_t events = 0, tampered = 0, erased = 0;
  std::set<std::string> chains;  // every chain the answer drew on (a server's own ones included)
  auto done = trail.query(q, [&](const audit::ListedEvent& l) -> Result<void> {
    ++events;
    chains.insert(l.chain);
    if (l.detail == audit::ListedEvent::Detail::tampered) {
      ++tampered;
      out << "ERROR " << l.problem << "\n";
      return {};
    }
    if (l.detail == audit::ListedEvent::Detail::erased) ++erased;
    print_event(l, out);
    return {};
  });
  if (!done) {
    err << "hearth-server: " << done.error().message << "\n";
    return 1;
  }
  const std::string summary = std::to_string(events) + (events == 1 ? " event" : " events") + " from " +
                              std::to_string(chains.size()) + (chains.size() == 1 ? " chain" : " chains") +
                              (erased ? ", " + std::to_string(erased) + " sealed (family erased)" : std::string()) +
                              (tampered ? ", " + std::to_string(tampered) + " TAMPERED" : std::string());
  // What it answered: in the family's own chain when it names one family that has one (an
  // unknown family gets no chain of its own).
  const std::string chain_family = events > 0 ? args.family : std::string();
  if (auto a = trail.append(audit::Event{now_ms, "admin", "", "audit-query-answered", chain_family, asked + ": " + summary});
      !a) {
    err << "hearth-server: the answer could not be audited: " << a.error().message << "\n";
    return 1;
  }
  out << "audit of " << asked << ": " << summary << "\n";
  if (tampered) {
    out << "run `hearth-server verify-audit` (docs/audit.md)\n";
    return 2;
  }
  return 0;
}

}  // namespace hearth::server
