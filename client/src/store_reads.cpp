// Store: reads and the change log. Every sealed column is opened here; a value that fails
// authentication is reported as ErrorCode::corrupt naming the record, never returned.
#include <algorithm>
#include <map>

#include "hearth/core/json_writer.hpp"
#include "hearth/core/render.hpp"
#include "store_impl.hpp"

namespace hearth::client {

namespace {
constexpr const char* kRecordColumns =
    "SELECT e.id, e.type, e.family, e.created, e.created_by, e.deleted, e.occurred, f.name, f.value, f.multi "
    "FROM entities e LEFT JOIN fields f ON f.entity = e.id ";

Error named(const Error& e, const std::string& what) { return make_error(e.code, what + ": " + e.message); }
}  // namespace

// Reads records with their field rows and renders each through the one renderer
// (core/render.hpp) that EntityMerge::render uses, so the persisted state compares byte for
// byte with the in-memory merge. A stored value that cannot be shown is ErrorCode::corrupt
// naming the record and the field.
Result<std::vector<EntityView>> Store::Impl::read_records(const std::string& where, const std::string& param,
                                                         std::set<std::string>* sensitive) {
  std::vector<EntityView> out;
  auto st = db->prepare(std::string(kRecordColumns) + where);
  if (!st) return st.error();
  st->bind(1, param);
  struct Pending {
    EntityView view;
    bool created = false;
    std::string created_by;
    std::map<std::string, FieldJson> fields;
  };
  std::optional<Pending> cur;
  auto flush = [&]() -> Result<void> {
    if (!cur) return {};
    RecordHeader h{cur->view.id, cur->view.type, cur->view.family, cur->created, cur->created_by, cur->view.deleted};
    auto json = render_record(mat.schema().entity(cur->view.type), h, [&](const FieldDef& f) -> Result<FieldJson> {
      auto it = cur->fields.find(f.name);
      return it == cur->fields.end() ? FieldJson{} : it->second;
    });
    if (!json) return json.error();
    cur->view.json = std::move(json.value());
    if (sensitive)  // a T2 or T3 value was read: the read is a view to audit (DOMAIN.md §5, §9.1)
      if (const EntityDef* def = mat.schema().entity(cur->view.type))
        for (const auto& [name, value] : cur->fields)
          if (const FieldDef* f = def->field(name); f && (f->sens == Sensitivity::T2 || f->sens == Sensitivity::T3)) {
            sensitive->insert(cur->view.id);
            break;
          }
    out.push_back(std::move(cur->view));
    cur.reset();
    return {};
  };
  while (true) {
    auto row = st->step();
    if (!row) return row.error();
    if (!*row) break;
    std::string id = st->text(0);
    if (!cur || cur->view.id != id) {
      if (auto r = flush(); !r) return r.error();
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
    cur->fields[name] = FieldJson{*value, multi};
  }
  if (auto r = flush(); !r) return r.error();
  return out;
}

Result<EntityView> Store::get(const std::string& entity_id) const {
  return impl_->app_call("get", [&]() -> Result<EntityView> {
    if (auto family = impl_->family_of(entity_id))
      if (auto r = impl_->check_unlocked(*family); !r) return r.error();
    std::set<std::string> sensitive;
    auto rows = impl_->read_records("WHERE e.id = ?", entity_id, &sensitive);
    if (!rows) return rows.error();
    if (rows->empty()) return make_error(ErrorCode::not_found, "no record with id '" + entity_id + "'");
    impl_->log_views(*rows, sensitive);
    return std::move(rows->front());
  });
}

Result<std::vector<EntityView>> Store::chronology(const std::string& family_id) const {
  return impl_->app_call("chronology", [&]() -> Result<std::vector<EntityView>> {
    if (auto r = impl_->check_unlocked(family_id); !r) return r.error();
    // `occurred` is sealed, so the order is made here, after opening it.
    std::set<std::string> sensitive;
    auto rows = impl_->read_records("WHERE e.family = ? AND e.occurred IS NOT NULL AND e.deleted = 0", family_id,
                                    &sensitive);
    if (!rows) return rows.error();
    impl_->log_views(*rows, sensitive);
    std::stable_sort(rows->begin(), rows->end(), [](const EntityView& a, const EntityView& b) {
      return a.occurred != b.occurred ? a.occurred < b.occurred : a.id < b.id;
    });
    return rows;
  });
}

Result<FamilyView> Store::family(const std::string& family_id) const {
  return impl_->app_call("family", [&]() -> Result<FamilyView> {
    if (auto r = impl_->check_unlocked(family_id); !r) return r.error();
    // A family is what this store holds of it: its root record may be withheld from this
    // practitioner while other records are shared (docs/access.md).
    FamilyView view;
    view.family = family_id;
    std::set<std::string> sensitive;
    auto rows = impl_->read_records("WHERE e.family = ? ORDER BY e.id", family_id, &sensitive);
    if (!rows) return rows.error();
    if (rows->empty()) return make_error(ErrorCode::not_found, "no family with id '" + family_id + "'");
    impl_->log_views(*rows, sensitive);  // the chronology below repeats some: a minute's views are logged once
    view.entities = std::move(rows.value());
    auto chron = chronology(family_id);
    if (!chron) return chron.error();
    view.chronology = std::move(chron.value());
    auto conflicts = open_conflicts(family_id);
    if (!conflicts) return conflicts.error();
    view.conflicts = std::move(conflicts.value());
    return view;
  });
}

Result<std::vector<sync::Conflict>> Store::open_conflicts(const std::string& family_id) const {
  return impl_->app_call("open_conflicts", [&]() -> Result<std::vector<sync::Conflict>> {
    std::vector<sync::Conflict> out;
    std::vector<std::string> fams{family_id};
    if (family_id.empty()) {
      auto all = families();
      if (!all) return all.error();
      fams = std::move(all.value());
    }
    for (const auto& f : fams) {
      if (auto r = impl_->check_unlocked(f); !r) return r.error();
      if (auto r = impl_->ensure_family(f); !r) return r.error();
      auto cs = impl_->mat.open_conflicts(f);
      for (const auto& c : cs)  // a conflict holds stored values: check them before any reader shows them
        if (auto shown = c.checked_json(); !shown) return shown.error();
      out.insert(out.end(), cs.begin(), cs.end());
    }
    return out;
  });
}

Result<std::vector<FieldWrite>> Store::history(const std::string& entity_id, const std::string& field) const {
  return impl_->app_call("history", [&]() -> Result<std::vector<FieldWrite>> {
    auto family = impl_->family_of(entity_id);
    if (!family) return make_error(ErrorCode::not_found, "no record with id '" + entity_id + "'");
    if (auto r = impl_->check_unlocked(*family); !r) return r.error();
    if (auto r = impl_->ensure_family(*family); !r) return r.error();
    std::vector<FieldWrite> out;
    if (const sync::EntityMerge* e = impl_->mat.entity(entity_id))  // the values of a T2/T3 field: a view
      if (auto sens = impl_->mat.schema().sensitivity(e->def().name, field);
          sens && (*sens == Sensitivity::T2 || *sens == Sensitivity::T3))
        if (auto v = impl_->write_record_view(*family, e->def().name, entity_id, impl_->clock.physical_now()); !v)
          ++impl_->unlogged_views;
    for (auto& w : impl_->mat.history(entity_id, field))
      out.push_back(FieldWrite{w.id.to_string(), std::move(w.author), w.hlc.wall_ms, w.hlc.logical, std::move(w.value)});
    return out;
  });
}

Result<std::vector<std::string>> Store::families() const {
  return impl_->app_call("families", [&]() -> Result<std::vector<std::string>> {
    std::vector<std::string> out;
    // Every family with a record here, with or without its root record: a practitioner may
    // hold a family's shared records while its root is withheld from them (docs/access.md).
    auto st = impl_->db->prepare("SELECT DISTINCT family FROM entities WHERE family <> '' ORDER BY family");
    if (!st) return st.error();
    auto done = st->each([&](Statement& row) { out.push_back(row.text(0)); });
    if (!done) return done.error();
    return out;
  });
}

Result<std::string> Store::export_family(const std::string& family_id) const {
  return impl_->app_call("export_family", [&]() -> Result<std::string> {
    if (auto r = impl_->check_unlocked(family_id); !r) return r.error();
    std::set<std::string> sensitive;
    auto rows = impl_->read_records("WHERE e.family = ? ORDER BY e.id", family_id, &sensitive);
    if (!rows) return rows.error();
    impl_->log_views(*rows, sensitive);
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
      if (!is_valid_utf8(*body))
        return make_error(ErrorCode::corrupt,
                          "conflict " + st->text(0) + ": the stored value cannot be shown (text that is not valid UTF-8)");
      w.raw(*body);
    }
    w.end_array();
    w.end_object();
    return w.take();
  });
}

Result<StoreStatus> Store::status() const {
  return impl_->call("status", [&]() -> Result<StoreStatus> {
    StoreStatus out;
    out.device_id = impl_->device;
    auto st = impl_->db->prepare(
        "SELECT (SELECT count(DISTINCT family) FROM entities WHERE family <> ''), (SELECT count(*) FROM ops), "
        "(SELECT count(*) FROM outbox), (SELECT count(*) FROM conflicts), (SELECT count(*) FROM quarantine), "
        "(SELECT coalesce(max(value), 0) FROM sync_state WHERE key = 'last_sync'), (SELECT count(*) FROM held WHERE outcome IS NULL) + "
        "(SELECT count(*) FROM held_purged WHERE outcome IS NULL)");
    if (!st) return st.error();
    auto row = st->step();
    if (!row) return row.error();
    if (!*row) return make_error(ErrorCode::storage, "the status query returned nothing");
    auto count = [&](int col) { return static_cast<size_t>(std::max<int64_t>(0, st->integer(col))); };
    out.families = count(0);
    out.ops = count(1);
    out.unsynced = count(2);
    out.open_conflicts = count(3);
    out.quarantined = count(4);
    out.last_sync_ms = st->integer(5);
    out.held = count(6);
    return out;
  });
}

}  // namespace hearth::client
