// Store: reads and the change log. Every sealed column is opened here; a value that fails
// authentication is reported as ErrorCode::corrupt naming the record, never returned.
#include <algorithm>
#include <map>

#include "hearth/core/json_writer.hpp"
#include "store_impl.hpp"

namespace hearth::client {

namespace {
constexpr const char* kRecordColumns =
    "SELECT e.id, e.type, e.family, e.created, e.created_by, e.deleted, e.occurred, f.name, f.value, f.multi "
    "FROM entities e LEFT JOIN fields f ON f.entity = e.id ";

Error named(const Error& e, const std::string& what) { return make_error(e.code, what + ": " + e.message); }
}  // namespace

// Reads records with their field rows and renders each as EntityMerge::render does, so the
// persisted state compares byte for byte with the in-memory merge.
Result<std::vector<EntityView>> Store::Impl::read_records(const std::string& where, const std::string& param) {
  std::vector<EntityView> out;
  auto st = db->prepare(std::string(kRecordColumns) + where);
  if (!st) return st.error();
  st->bind(1, param);
  struct Pending {
    EntityView view;
    bool created = false;
    std::string created_by;
    std::map<std::string, std::pair<std::string, std::string>> fields;
  };
  std::optional<Pending> cur;
  auto flush = [&] {
    if (!cur) return;
    JsonWriter w;
    w.begin_object();
    w.key("id").string(cur->view.id);
    w.key("type").string(cur->view.type);
    w.key("family").string(cur->view.family);
    w.key("created").boolean(cur->created);
    w.key("created_by").string(cur->created_by);
    w.key("deleted").boolean(cur->view.deleted);
    const EntityDef* def = mat.schema().entity(cur->view.type);
    std::vector<std::string> order;
    if (def)
      for (const auto& f : def->fields) order.push_back(f.name);
    w.key("fields").begin_object();
    for (const auto& name : order)
      if (auto it = cur->fields.find(name); it != cur->fields.end()) w.key(name).raw(it->second.first);
    w.end_object();
    w.key("multi").begin_object();
    for (const auto& name : order)
      if (auto it = cur->fields.find(name); it != cur->fields.end() && !it->second.second.empty())
        w.key(name).raw(it->second.second);
    w.end_object();
    w.end_object();
    cur->view.json = w.take();
    out.push_back(std::move(cur->view));
    cur.reset();
  };
  while (true) {
    auto row = st->step();
    if (!row) return row.error();
    if (!*row) break;
    std::string id = st->text(0);
    if (!cur || cur->view.id != id) {
      flush();
      cur.emplace();
      std::string family = st->text(2);
      cur->view = EntityView{id, st->text(1), family, st->integer(5) != 0, {}, {}};
      cur->created = st->integer(3) != 0;
      auto by = vault->open(family, st->blob(4), aad::created_by(id));
      if (!by) return named(by.error(), "record " + id + " (created_by)");
      cur->created_by = *by;
      if (!st->is_null(6)) {
        auto when = vault->open(family, st->blob(6), aad::occurred(id));
        if (!when) return named(when.error(), "record " + id + " (occurred)");
        cur->view.occurred = *when;
      }
    }
    if (st->is_null(7)) continue;
    std::string name = st->text(7);
    auto value = vault->open(cur->view.family, st->blob(8), aad::field(id, name));
    if (!value) return named(value.error(), "record " + id + " field " + name);
    std::string multi;
    if (!st->is_null(9)) {
      auto m = vault->open(cur->view.family, st->blob(9), aad::multi(id, name));
      if (!m) return named(m.error(), "record " + id + " field " + name + " (concurrent values)");
      multi = *m;
    }
    cur->fields[name] = {*value, multi};
  }
  flush();
  return out;
}

Result<EntityView> Store::get(const std::string& entity_id) const {
  auto rows = impl_->read_records("WHERE e.id = ?", entity_id);
  if (!rows) return rows.error();
  if (rows->empty()) return make_error(ErrorCode::not_found, "no record with id '" + entity_id + "'");
  return std::move(rows->front());
}

Result<std::vector<EntityView>> Store::chronology(const std::string& family_id) const {
  // `occurred` is sealed, so the order is made here, after opening it.
  auto rows = impl_->read_records("WHERE e.family = ? AND e.occurred IS NOT NULL AND e.deleted = 0", family_id);
  if (!rows) return rows.error();
  std::stable_sort(rows->begin(), rows->end(), [](const EntityView& a, const EntityView& b) {
    return a.occurred != b.occurred ? a.occurred < b.occurred : a.id < b.id;
  });
  return rows;
}

Result<FamilyView> Store::family(const std::string& family_id) const {
  auto fam = get(family_id);
  if (!fam) return fam.error();
  if (fam->type != "Family") return make_error(ErrorCode::not_found, "no family with id '" + family_id + "'");
  FamilyView view;
  view.family = family_id;
  auto rows = impl_->read_records("WHERE e.family = ? ORDER BY e.id", family_id);
  if (!rows) return rows.error();
  view.entities = std::move(rows.value());
  auto chron = chronology(family_id);
  if (!chron) return chron.error();
  view.chronology = std::move(chron.value());
  auto conflicts = open_conflicts(family_id);
  if (!conflicts) return conflicts.error();
  view.conflicts = std::move(conflicts.value());
  return view;
}

Result<std::vector<sync::Conflict>> Store::open_conflicts(const std::string& family_id) const {
  std::vector<sync::Conflict> out;
  std::vector<std::string> fams = family_id.empty() ? families() : std::vector<std::string>{family_id};
  for (const auto& f : fams) {
    if (auto r = impl_->ensure_family(f); !r) return r.error();
    auto cs = impl_->mat.open_conflicts(f);
    out.insert(out.end(), cs.begin(), cs.end());
  }
  return out;
}

Result<std::vector<sync::Write>> Store::history(const std::string& entity_id, const std::string& field) {
  auto family = impl_->family_of(entity_id);
  if (!family) return make_error(ErrorCode::not_found, "no record with id '" + entity_id + "'");
  if (auto r = impl_->ensure_family(*family); !r) return r.error();
  return impl_->mat.history(entity_id, field);
}

std::vector<std::string> Store::families() const {
  std::vector<std::string> out;
  if (auto st = impl_->db->prepare("SELECT id FROM entities WHERE type = 'Family' ORDER BY id"))
    (void)st->each([&](Statement& row) { out.push_back(row.text(0)); });
  return out;
}

Result<std::string> Store::export_family(const std::string& family_id) const {
  auto rows = impl_->read_records("WHERE e.family = ? ORDER BY e.id", family_id);
  if (!rows) return rows.error();
  JsonWriter w;
  w.begin_object();
  w.key("family").string(family_id);
  w.key("entities").begin_array();
  for (const auto& r : *rows) w.raw(r.json);
  w.end_array();
  w.key("conflicts").begin_array();
  auto st = impl_->db->prepare("SELECT id, body FROM conflicts WHERE family = ? ORDER BY id");
  if (!st) return st.error();
  st->bind(1, family_id);
  while (true) {
    auto row = st->step();
    if (!row) return row.error();
    if (!*row) break;
    auto body = impl_->vault->open(family_id, st->blob(1), aad::conflict(st->text(0)));
    if (!body) return named(body.error(), "conflict " + st->text(0));
    w.raw(*body);
  }
  w.end_array();
  w.end_object();
  return w.take();
}

StoreStatus Store::status() const {
  StoreStatus s;
  s.device_id = impl_->device;
  auto count = [&](const char* sql) -> size_t {
    auto st = impl_->db->prepare(sql);
    if (!st) return 0;
    auto row = st->step();
    return row && *row ? static_cast<size_t>(st->integer(0)) : 0;
  };
  s.families = count("SELECT count(*) FROM entities WHERE type = 'Family'");
  s.ops = count("SELECT count(*) FROM ops");
  s.unsynced = count("SELECT count(*) FROM outbox");
  s.open_conflicts = count("SELECT count(*) FROM conflicts");
  s.quarantined = count("SELECT count(*) FROM quarantine");
  s.last_sync_ms = static_cast<int64_t>(count("SELECT coalesce(max(value), 0) FROM sync_state WHERE key = 'last_sync'"));
  return s;
}

size_t Store::unsynced() const {
  auto st = impl_->db->prepare("SELECT count(*) FROM outbox");
  if (!st) return 0;
  auto row = st->step();
  return row && *row ? static_cast<size_t>(st->integer(0)) : 0;
}

Result<std::vector<OutboxEntry>> Store::outbox(size_t limit) const {
  std::vector<OutboxEntry> out;
  auto st = impl_->db->prepare(
      "SELECT o.seq, p.device, p.counter, p.family, p.body FROM outbox o JOIN ops p ON p.seq = o.seq "
      "ORDER BY o.seq LIMIT ?");
  if (!st) return st.error();
  st->bind(1, static_cast<int64_t>(std::min<size_t>(limit, INT64_MAX)));
  auto done = st->each([&](Statement& row) -> Result<void> {
    sync::OpId id{row.text(1), static_cast<uint64_t>(row.integer(2))};
    auto plain = impl_->vault->open(row.text(3), row.blob(4), aad::op(id));
    if (!plain) return named(plain.error(), "op " + id.to_string());
    out.push_back(OutboxEntry{row.integer(0), id, std::move(plain.value())});
    return {};
  });
  if (!done) return done.error();
  return out;
}

Result<void> Store::mark_pushed(const std::vector<int64_t>& seqs) { return record_push(seqs, {}, 0); }

Result<std::vector<std::string>> Store::encoded_ops(const std::string& family_id) const {
  std::vector<std::string> out;
  auto st = impl_->db->prepare("SELECT device, counter, body FROM ops WHERE family = ? ORDER BY seq");
  if (!st) return st.error();
  st->bind(1, family_id);
  auto done = st->each([&](Statement& row) -> Result<void> {
    sync::OpId id{row.text(0), static_cast<uint64_t>(row.integer(1))};
    auto plain = impl_->vault->open(family_id, row.blob(2), aad::op(id));
    if (!plain) return named(plain.error(), "op " + id.to_string());
    out.push_back(std::move(plain.value()));
    return {};
  });
  if (!done) return done.error();
  return out;
}

std::vector<sync::OpId> Store::op_ids() const {
  std::vector<sync::OpId> out;
  if (auto st = impl_->db->prepare("SELECT device, counter FROM ops ORDER BY device, counter"))
    (void)st->each([&](Statement& row) { out.push_back(sync::OpId{row.text(0), static_cast<uint64_t>(row.integer(1))}); });
  return out;
}

}  // namespace hearth::client
