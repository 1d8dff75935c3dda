#include "records_command.hpp"

#include <map>
#include <vector>

#include "hearth/core/civil_time.hpp"
#include "hearth/core/text.hpp"

namespace hearth::server {

namespace {

std::string describe(const RecordQuery& q) {
  std::string d;
  auto add = [&](const char* name, const std::string& v) {
    if (!v.empty()) d += std::string(d.empty() ? "" : " ") + name + "=" + v;
  };
  add("family", q.family);
  add("type", q.type);
  add("person", q.person);
  add("from", q.from);
  add("to", q.to);
  if (q.family_wide) d += " family-wide";
  if (q.include_deleted) d += " deleted";
  if (q.limit) d += " limit=" + std::to_string(q.limit);
  return d.empty() ? "every record" : d;
}

bool valid_bound(const std::string& v) { return v.empty() || civil::parse_date(v.substr(0, 10)).has_value(); }

}  // namespace

int records_command(Storage& store, const RecordsArgs& args, int64_t now_ms, std::ostream& out, std::ostream& err) {
  const RecordQuery& q = args.query;
  if (!is_valid_id(args.by)) {
    err << "hearth-server records: --by names who reads the records (an id, for the audit); '" << args.by
        << "' is not one\n";
    return 1;
  }
  for (const auto& [option, value] : {std::pair<const char*, const std::string*>{"--family", &q.family},
                                      {"--person", &q.person}}) {
    if (!value->empty() && !is_valid_id(*value)) {
      err << "hearth-server records: " << option << " '" << *value << "' is not an id\n";
      return 1;
    }
  }
  if (!q.type.empty() && !is_valid_name(q.type)) {
    err << "hearth-server records: --type '" << q.type << "' is not an entity type\n";
    return 1;
  }
  if (!valid_bound(q.from) || !valid_bound(q.to)) {
    err << "hearth-server records: --from and --to are dates or times (YYYY-MM-DD[THH:MM:SSZ])\n";
    return 1;
  }
  if (q.family_wide && q.person.empty()) {
    err << "hearth-server records: --family-wide goes with --person\n";
    return 1;
  }
  if (auto a = store.audit().append(AuditEvent{now_ms, args.by, "", "records-read", "", describe(q)}); !a) {
    err << "hearth-server records: the read could not be audited, so nothing is shown: " << a.error().message << "\n";
    return 1;
  }
  std::map<std::string, std::vector<std::string>> shown;  // family -> record ids
  auto done = store.records().scan(q, [&](const StoredRecord& r) -> Result<bool> {
    out << r.json << "\n";
    shown[r.family].push_back(r.id);
    return true;
  });
  out.flush();
  for (const auto& [family, ids] : shown) {
    std::string detail = std::to_string(ids.size()) + " records shown:";
    for (const auto& id : ids) detail += " " + id;
    (void)store.audit().append(AuditEvent{now_ms, args.by, "", "records-read", family, detail});
  }
  if (!done) {
    err << "hearth-server records: " << done.error().message << "\n";
    return 1;
  }
  return 0;
}

}  // namespace hearth::server
