#include "hearth/client/store.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <set>

#include "hearth/core/json_writer.hpp"
#include "hearth/sync/encoding.hpp"
#include "hearth/sync/materialiser.hpp"
#include "ids.hpp"
#include "sqlite_db.hpp"

namespace hearth::client {

namespace {

constexpr int kStoreSchemaVersion = 1;

const char* kCreateTables = R"SQL(
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ops(
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  device TEXT NOT NULL, counter INTEGER NOT NULL,
  family TEXT NOT NULL, entity TEXT NOT NULL,
  body BLOB NOT NULL,
  UNIQUE(device, counter));
CREATE INDEX IF NOT EXISTS ops_by_family ON ops(family, seq);
CREATE TABLE IF NOT EXISTS outbox(seq INTEGER PRIMARY KEY REFERENCES ops(seq));
CREATE TABLE IF NOT EXISTS entities(
  id TEXT PRIMARY KEY, family TEXT NOT NULL, type TEXT NOT NULL,
  created INTEGER NOT NULL, created_by TEXT NOT NULL, deleted INTEGER NOT NULL, occurred TEXT) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS entities_by_family ON entities(family, occurred);
-- one row per set field: an edit rewrites one small row, not the whole record
CREATE TABLE IF NOT EXISTS fields(
  entity TEXT NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL, multi TEXT,
  PRIMARY KEY(entity, name)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS conflicts(
  id TEXT PRIMARY KEY, family TEXT NOT NULL, entity TEXT NOT NULL, body TEXT NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS conflicts_by_entity ON conflicts(entity);
CREATE INDEX IF NOT EXISTS conflicts_by_family ON conflicts(family);
)SQL";

uint64_t system_ms() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
}

}  // namespace

std::string finding_id(const std::string& assessment_id, const std::string& domain) {
  return assessment_id + "/finding/" + domain;
}
std::string voice_id(const std::string& assessment_id, const std::string& child_id) {
  return assessment_id + "/voice/" + child_id;
}

struct Store::Impl {
  Impl(std::unique_ptr<Database> database, const Schema& schema, StoreOptions opts)
      : db(std::move(database)), mat(schema), clock(opts.clock ? opts.clock : sync::PhysicalClock(system_ms)),
        options(std::move(opts)) {}

  std::unique_ptr<Database> db;
  sync::Materialiser mat;
  sync::HybridClock clock;
  StoreOptions options;
  std::string device;
  uint64_t counter = 0;
  std::set<std::string> loaded;  // families whose ops are in `mat`
  std::set<std::string> with_conflict_rows;  // entities of loaded families that have rows in `conflicts`
  struct Group {
    uint64_t start_counter = 0;
    bool failed = false;
    std::set<std::string> families;
  };
  std::optional<Group> group;  // set while Store::atomically runs

  Result<void> init();
  Result<std::string> meta(const std::string& key);
  Result<void> set_meta(const std::string& key, const std::string& value);
  Result<void> ensure_family(const std::string& family);
  std::optional<std::string> family_of(const std::string& entity_id);
  // Persists what `op` changed of its record (everything when op is null).
  Result<void> write_entity(const std::string& entity_id, const sync::Op* op);
  Result<void> write_field(const sync::EntityMerge& e, const FieldDef& f);
  Result<std::vector<EntityView>> read_records(const std::string& where, const std::string& param);
  Result<void> save_clock();
  Result<void> fault(std::string_view point);
  Result<std::string> commit_local(Result<sync::Op> built);
  using Builder = std::function<Result<sync::Op>(const sync::Materialiser&)>;
  Result<void> edit(const std::string& entity_id, const Builder& build);
  void evict(const std::string& family) {
    for (const auto* e : mat.entities(family)) with_conflict_rows.erase(e->id());
    mat.forget_family(family);
    loaded.erase(family);
  }
};

Result<std::string> Store::Impl::meta(const std::string& key) {
  auto st = db->prepare("SELECT value FROM meta WHERE key = ?");
  if (!st) return st.error();
  st->bind(1, key);
  auto row = st->step();
  if (!row) return row.error();
  if (!*row) return make_error(ErrorCode::not_found, "store metadata '" + key + "' is missing");
  return st->text(0);
}

Result<void> Store::Impl::set_meta(const std::string& key, const std::string& value) {
  auto st = db->cached("INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)");
  if (!st) return st.error();
  (*st)->bind(1, key).bind(2, value);
  return (*st)->run();
}

Result<void> Store::Impl::init() {
  // A larger checkpoint interval lets a page edited many times reach the database file once.
  for (const char* pragma : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", "PRAGMA foreign_keys=ON",
                             "PRAGMA wal_autocheckpoint=4000"}) {
    auto r = db->exec(pragma);
    if (!r) return r;
  }
  auto r = db->exec(kCreateTables);
  if (!r) return r;
  if (options.max_pages > 0) {
    if (auto cap = db->exec("PRAGMA max_page_count=" + std::to_string(options.max_pages)); !cap) return cap;
  }
  auto version = meta("store_version");
  if (!version) {
    Transaction tx(*db);
    if (auto b = tx.begin(); !b) return b;
    device = new_device_id();
    for (auto [k, v] : {std::pair<std::string, std::string>{"store_version", std::to_string(kStoreSchemaVersion)},
                        {"device_id", device}, {"clock", "0 0 0"}}) {
      if (auto s = set_meta(k, v); !s) return s;
    }
    return tx.commit();
  }
  if (*version != std::to_string(kStoreSchemaVersion))
    return make_error(ErrorCode::storage, "store format version " + *version + " is not supported by this build (expects " +
                                              std::to_string(kStoreSchemaVersion) + ")");
  auto dev = meta("device_id");
  auto saved = meta("clock");
  if (!dev || !saved) return make_error(ErrorCode::corrupt, "store metadata is incomplete");
  device = *dev;
  unsigned long long c = 0, wall = 0;
  unsigned long logical = 0;
  if (std::sscanf(saved->c_str(), "%llu %llu %lu", &c, &wall, &logical) != 3)
    return make_error(ErrorCode::corrupt, "store metadata 'clock' is malformed");
  counter = c;
  clock.restore(sync::Hlc{wall, static_cast<uint32_t>(logical)});
  // Local edits do not rewrite the saved clock (one page less per edit): the device's own
  // last op carries its counter and stamp.
  auto last = db->prepare("SELECT counter, body FROM ops WHERE device = ? ORDER BY counter DESC LIMIT 1");
  if (!last) return last.error();
  last->bind(1, device);
  auto row = last->step();
  if (!row) return row.error();
  if (*row) {
    counter = std::max<uint64_t>(counter, static_cast<uint64_t>(last->integer(0)));
    auto op = sync::decode(last->blob(1));
    if (!op) return make_error(ErrorCode::corrupt, "the device's last op is unreadable: " + op.error().message);
    clock.restore(op->hlc);
  }
  return {};
}

Result<void> Store::Impl::ensure_family(const std::string& family) {
  if (loaded.count(family)) return {};
  auto st = db->prepare("SELECT seq, body FROM ops WHERE family = ? ORDER BY seq");
  if (!st) return st.error();
  st->bind(1, family);
  while (true) {
    auto row = st->step();
    if (!row) return row.error();
    if (!*row) break;
    auto op = sync::decode(st->blob(1));
    if (!op) {
      evict(family);
      return make_error(ErrorCode::corrupt, "op log row " + std::to_string(st->integer(0)) + ": " + op.error().message);
    }
    auto applied = mat.apply(*op);
    if (!applied) {
      evict(family);
      return make_error(ErrorCode::corrupt, "op log row " + std::to_string(st->integer(0)) + ": " + applied.error().message);
    }
  }
  auto rows = db->prepare("SELECT DISTINCT entity FROM conflicts WHERE family = ?");
  if (!rows) return rows.error();
  rows->bind(1, family);
  while (true) {
    auto row = rows->step();
    if (!row) return row.error();
    if (!*row) break;
    with_conflict_rows.insert(rows->text(0));
  }
  loaded.insert(family);
  return {};
}

std::optional<std::string> Store::Impl::family_of(const std::string& entity_id) {
  if (const sync::EntityMerge* e = mat.entity(entity_id)) return e->family();
  auto st = db->cached("SELECT family FROM entities WHERE id = ?");
  if (!st) return std::nullopt;
  (*st)->bind(1, entity_id);
  auto row = (*st)->step();
  if (!row || !*row) return std::nullopt;
  std::string family = (*st)->text(0);
  (*st)->reset();
  return family;
}

Result<void> Store::Impl::write_field(const sync::EntityMerge& e, const FieldDef& f) {
  std::string value = e.field_json(f);
  if (value.empty()) {
    auto del = db->cached("DELETE FROM fields WHERE entity = ? AND name = ?");
    if (!del) return del.error();
    (*del)->bind(1, e.id()).bind(2, f.name);
    return (*del)->run();
  }
  auto up = db->cached("INSERT OR REPLACE INTO fields(entity, name, value, multi) VALUES(?, ?, ?, ?)");
  if (!up) return up.error();
  (*up)->bind(1, e.id()).bind(2, f.name).bind(3, value);
  std::string multi = e.multi_json(f);
  if (multi.empty()) (*up)->bind_null(4);
  else (*up)->bind(4, multi);
  return (*up)->run();
}

Result<void> Store::Impl::write_entity(const std::string& entity_id, const sync::Op* op) {
  const sync::EntityMerge* e = mat.entity(entity_id);
  if (!e) return {};
  const EntityDef& def = e->def();
  const bool everything = !op || op->kind == sync::OpKind::Create || op->kind == sync::OpKind::Restamp;
  // The header changes on create and delete, and on any edit once a delete exists
  // (an edit can cancel it).
  if (everything || op->kind == sync::OpKind::Delete || e->has_deletes()) {
    auto up = db->cached(
        "INSERT OR REPLACE INTO entities(id, family, type, created, created_by, deleted, occurred) "
        "VALUES(?, ?, ?, ?, ?, ?, ?)");
    if (!up) return up.error();
    (*up)->bind(1, e->id()).bind(2, e->family()).bind(3, def.name).bind(4, int64_t{e->created() ? 1 : 0});
    (*up)->bind(5, e->created_by()).bind(6, int64_t{e->deleted() ? 1 : 0});
    Value occurred = def.occurred_field.empty() ? Value() : e->value(def.occurred_field);
    if (occurred.is_string()) (*up)->bind(7, occurred.as_string());
    else (*up)->bind_null(7);
    if (auto r = (*up)->run(); !r) return r;
  }
  if (everything) {
    auto clear = db->cached("DELETE FROM fields WHERE entity = ?");
    if (!clear) return clear.error();
    (*clear)->bind(1, entity_id);
    if (auto r = (*clear)->run(); !r) return r;
    for (const auto& f : def.fields)
      if (auto r = write_field(*e, f); !r) return r;
  } else if (const FieldDef* f = def.field(op->field)) {
    if (auto r = write_field(*e, *f); !r) return r;
  }

  auto conflicts = e->conflicts();
  if (conflicts.empty() && !with_conflict_rows.count(entity_id)) return {};
  auto del = db->cached("DELETE FROM conflicts WHERE entity = ?");
  if (!del) return del.error();
  (*del)->bind(1, entity_id);
  if (auto r = (*del)->run(); !r) return r;
  auto ins = db->cached("INSERT OR REPLACE INTO conflicts(id, family, entity, body) VALUES(?, ?, ?, ?)");
  if (!ins) return ins.error();
  for (const auto& c : conflicts) {
    (*ins)->bind(1, c.id).bind(2, c.family).bind(3, c.entity_id).bind(4, c.to_json());
    if (auto r = (*ins)->run(); !r) return r;
  }
  if (conflicts.empty()) with_conflict_rows.erase(entity_id);
  else with_conflict_rows.insert(entity_id);
  return {};
}

Result<void> Store::Impl::save_clock() {
  auto last = clock.last();
  return set_meta("clock", std::to_string(counter) + " " + std::to_string(last.wall_ms) + " " + std::to_string(last.logical));
}

Result<void> Store::Impl::fault(std::string_view point) {
  if (!options.fault) return {};
  return options.fault(point);
}

Result<std::string> Store::Impl::commit_local(Result<sync::Op> built) {
  if (!built) return built.error();
  sync::Op op = std::move(built.value());
  const uint64_t previous_counter = counter;
  op.id = sync::OpId{device, counter + 1};
  op.hlc = clock.tick();
  op.author = options.practitioner_id;

  auto fail = [&](Error e) -> Result<std::string> {
    counter = previous_counter;
    evict(op.family);  // the in-memory merge may hold the op; rebuild it from the log
    if (group) group->failed = true;  // the group's transaction may hold part of this edit
    return e;
  };
  Transaction tx(*db);
  if (group) group->families.insert(op.family);
  else if (auto r = tx.begin(); !r) return fail(r.error());
  auto ins = db->cached("INSERT INTO ops(device, counter, family, entity, body) VALUES(?, ?, ?, ?, ?)");
  if (!ins) return fail(ins.error());
  (*ins)->bind(1, op.id.device).bind(2, static_cast<int64_t>(op.id.counter)).bind(3, op.family).bind(4, op.entity_id);
  (*ins)->bind_blob(5, sync::encode(op));
  if (auto r = (*ins)->run(); !r) return fail(r.error());
  auto queue = db->cached("INSERT INTO outbox(seq) VALUES(last_insert_rowid())");
  if (!queue) return fail(queue.error());
  if (auto r = (*queue)->run(); !r) return fail(r.error());
  auto applied = mat.apply(op);
  if (!applied) return fail(applied.error());
  counter = previous_counter + 1;
  if (auto r = write_entity(op.entity_id, &op); !r) return fail(r.error());
  if (group) return op.entity_id;  // committed with the group
  if (auto r = fault("before_commit"); !r) return fail(r.error());
  if (auto r = tx.commit(); !r) return fail(r.error());
  return op.entity_id;
}

// ---- Store ---------------------------------------------------------------------------------

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::~Store() = default;

Result<std::unique_ptr<Store>> Store::open(const std::string& path, StoreOptions options) {
  if (options.practitioner_id.empty())
    return make_error(ErrorCode::invalid_argument, "a store needs the practitioner id of its user");
  auto db = Database::open(path);
  if (!db) return db.error();
  const Schema& schema = options.schema ? *options.schema : Schema::v1();
  auto impl = std::make_unique<Impl>(std::move(db.value()), schema, std::move(options));
  if (auto r = impl->init(); !r) return r.error();
  return std::unique_ptr<Store>(new Store(std::move(impl)));
}

const std::string& Store::device_id() const { return impl_->device; }

Result<std::string> Store::create_family(const FieldValues& fields) {
  std::string id = new_uuid_v7(impl_->clock.physical_now());
  if (auto r = impl_->ensure_family(id); !r) return r.error();
  return impl_->commit_local(impl_->mat.make_create(id, "Family", id, fields));
}

Result<std::string> Store::create(const std::string& family, const std::string& type, const FieldValues& fields,
                                  const std::optional<std::string>& id) {
  const EntityDef* def = impl_->mat.schema().entity(type);
  if (!def) return make_error(ErrorCode::invalid_argument, "unknown entity type '" + type + "'");
  if (type == "Family") return make_error(ErrorCode::invalid_argument, "create a Family with create_family()");
  std::string partition = def->family_scoped ? family : std::string();
  if (def->family_scoped) {
    if (family.empty()) return make_error(ErrorCode::invalid_argument, type + " must belong to a family");
    auto fam = get(family);
    if (!fam || fam->type != "Family") return make_error(ErrorCode::not_found, "no family with id '" + family + "'");
  }
  if (auto r = impl_->ensure_family(partition); !r) return r.error();
  std::string new_id = id ? *id : new_uuid_v7(impl_->clock.physical_now());
  return impl_->commit_local(impl_->mat.make_create(partition, type, new_id, fields));
}

Result<void> Store::Impl::edit(const std::string& entity_id, const Builder& build) {
  auto family = family_of(entity_id);
  if (!family) return make_error(ErrorCode::not_found, "no record with id '" + entity_id + "'");
  if (auto r = ensure_family(*family); !r) return r;
  auto done = commit_local(build(mat));
  if (!done) return done.error();
  return {};
}

Result<void> Store::update(const std::string& entity_id, const std::string& field, const Value& value) {
  return impl_->edit(entity_id, [&](const sync::Materialiser& m) { return m.make_set(entity_id, field, value); });
}

Result<void> Store::add_element(const std::string& entity_id, const std::string& field, const std::string& element) {
  return impl_->edit(entity_id, [&](const sync::Materialiser& m) { return m.make_add(entity_id, field, element); });
}

Result<void> Store::remove_element(const std::string& entity_id, const std::string& field, const std::string& element) {
  return impl_->edit(entity_id, [&](const sync::Materialiser& m) { return m.make_remove(entity_id, field, element); });
}

Result<void> Store::transition(const std::string& entity_id, const std::string& to_state) {
  return impl_->edit(entity_id, [&](const sync::Materialiser& m) { return m.make_transition(entity_id, to_state); });
}

Result<void> Store::delete_entity(const std::string& entity_id) {
  return impl_->edit(entity_id, [&](const sync::Materialiser& m) { return m.make_delete(entity_id); });
}

Result<void> Store::resolve_conflict(const std::string& conflict_id, const std::optional<Value>& chosen) {
  auto st = impl_->db->prepare("SELECT entity FROM conflicts WHERE id = ?");
  if (!st) return st.error();
  st->bind(1, conflict_id);
  auto row = st->step();
  if (!row) return row.error();
  if (!*row) return make_error(ErrorCode::not_found, "no open conflict with id '" + conflict_id + "'");
  std::string entity_id = st->text(0);
  return impl_->edit(entity_id,
              [&](const sync::Materialiser& m) { return m.make_resolution(entity_id, conflict_id, chosen); });
}

Result<void> Store::atomically(const std::function<Result<void>()>& edits) {
  Impl& im = *impl_;
  if (im.group) return make_error(ErrorCode::invalid_argument, "atomic groups of edits do not nest");
  Transaction tx(*im.db);
  if (auto r = tx.begin(); !r) return r;
  im.group = Impl::Group{im.counter, false, {}};
  Result<void> result = edits();
  Impl::Group g = std::move(*im.group);
  im.group.reset();
  if (result && g.failed) result = make_error(ErrorCode::storage, "an edit in the group failed to store; nothing was kept");
  if (result) result = im.fault("before_commit");
  if (result) result = tx.commit();
  if (!result) {
    im.counter = g.start_counter;
    for (const auto& f : g.families) im.evict(f);
  }
  return result;
}

Result<ApplyReport> Store::apply_remote(const std::vector<std::string>& encoded_ops) {
  Impl& im = *impl_;
  if (im.group) return make_error(ErrorCode::invalid_argument, "remote operations cannot be applied inside an atomic group");
  ApplyReport report;
  std::vector<std::pair<size_t, sync::Op>> ops;
  for (size_t i = 0; i < encoded_ops.size(); ++i) {
    auto op = sync::decode(encoded_ops[i]);
    if (!op) {
      report.rejected.push_back(RejectedOp{i, {}, op.error()});
      continue;
    }
    ops.emplace_back(i, std::move(op.value()));
  }
  std::set<std::string> families;
  for (const auto& [i, op] : ops) families.insert(op.family);
  for (const auto& f : families)
    if (auto r = im.ensure_family(f); !r) return r.error();

  auto fail = [&](Error e) -> Result<ApplyReport> {
    for (const auto& f : families) im.evict(f);
    return e;
  };
  Transaction tx(*im.db);
  if (auto r = tx.begin(); !r) return fail(r.error());
  auto ins = im.db->prepare("INSERT INTO ops(device, counter, family, entity, body) VALUES(?, ?, ?, ?, ?)");
  if (!ins) return fail(ins.error());
  std::set<std::string> touched;  // records rewritten whole once the batch is in
  for (size_t k = 0; k < ops.size(); ++k) {
    const auto& [index, op] = ops[k];
    if (im.mat.contains(op.id)) {
      ++report.duplicates;
      continue;
    }
    if (auto ok = im.mat.check(op); !ok) {
      report.rejected.push_back(RejectedOp{index, op.id.to_string(), ok.error()});
      continue;
    }
    ins->bind(1, op.id.device).bind(2, static_cast<int64_t>(op.id.counter)).bind(3, op.family).bind(4, op.entity_id);
    ins->bind_blob(5, encoded_ops[index]);
    if (auto r = ins->run(); !r) return fail(r.error());
    auto applied = im.mat.apply(op);
    if (!applied) return fail(applied.error());
    if (auto c = im.clock.observe(op.hlc); !c) report.clock_warnings.push_back(c.error().message);
    touched.insert(op.entity_id);
    ++report.applied;
  }
  for (const auto& id : touched)
    if (auto r = im.write_entity(id, nullptr); !r) return fail(r.error());
  if (auto r = im.save_clock(); !r) return fail(r.error());
  if (auto r = im.fault("before_commit"); !r) return fail(r.error());
  if (auto r = tx.commit(); !r) return fail(r.error());
  return report;
}

// ---- reads ---------------------------------------------------------------------------------

namespace {
constexpr const char* kRecordColumns =
    "SELECT e.id, e.type, e.family, e.created, e.created_by, e.deleted, f.name, f.value, f.multi "
    "FROM entities e LEFT JOIN fields f ON f.entity = e.id ";
}  // namespace

// Reads records with their field rows and renders each as EntityMerge::render does, so
// the persisted state compares byte for byte with the in-memory merge.
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
      cur->view = EntityView{id, st->text(1), st->text(2), st->integer(5) != 0, {}};
      cur->created = st->integer(3) != 0;
      cur->created_by = st->text(4);
    }
    if (!st->is_null(6)) cur->fields[st->text(6)] = {st->text(7), st->is_null(8) ? std::string() : st->text(8)};
  }
  flush();
  return out;
}

std::optional<EntityView> Store::get(const std::string& entity_id) const {
  auto rows = impl_->read_records("WHERE e.id = ?", entity_id);
  if (!rows || rows->empty()) return std::nullopt;
  return std::move(rows->front());
}

std::vector<EntityView> Store::chronology(const std::string& family_id) const {
  auto rows = impl_->read_records(
      "WHERE e.family = ? AND e.occurred IS NOT NULL AND e.deleted = 0 ORDER BY e.occurred, e.id", family_id);
  return rows ? std::move(rows.value()) : std::vector<EntityView>{};
}

Result<FamilyView> Store::family(const std::string& family_id) const {
  auto fam = get(family_id);
  if (!fam || fam->type != "Family") return make_error(ErrorCode::not_found, "no family with id '" + family_id + "'");
  FamilyView view;
  view.family = family_id;
  auto rows = impl_->read_records("WHERE e.family = ? ORDER BY e.id", family_id);
  if (!rows) return rows.error();
  view.entities = std::move(rows.value());
  view.chronology = chronology(family_id);
  if (auto r = impl_->ensure_family(family_id); !r) return r.error();
  view.conflicts = impl_->mat.open_conflicts(family_id);
  return view;
}

std::vector<sync::Conflict> Store::open_conflicts(const std::string& family_id) const {
  std::vector<sync::Conflict> out;
  std::vector<std::string> fams = family_id.empty() ? families() : std::vector<std::string>{family_id};
  for (const auto& f : fams) {
    if (!impl_->ensure_family(f)) continue;
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
  auto st = impl_->db->prepare("SELECT id FROM entities WHERE type = 'Family' ORDER BY id");
  if (!st) return out;
  while (true) {
    auto row = st->step();
    if (!row || !*row) break;
    out.push_back(st->text(0));
  }
  return out;
}

std::string Store::export_family(const std::string& family_id) const {
  JsonWriter w;
  w.begin_object();
  w.key("family").string(family_id);
  w.key("entities").begin_array();
  if (auto rows = impl_->read_records("WHERE e.family = ? ORDER BY e.id", family_id))
    for (const auto& r : *rows) w.raw(r.json);
  w.end_array();
  w.key("conflicts").begin_array();
  if (auto st = impl_->db->prepare("SELECT body FROM conflicts WHERE family = ? ORDER BY id")) {
    st->bind(1, family_id);
    while (true) {
      auto row = st->step();
      if (!row || !*row) break;
      w.raw(st->text(0));
    }
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
  return s;
}

std::vector<OutboxEntry> Store::outbox(size_t limit) const {
  std::vector<OutboxEntry> out;
  auto st = impl_->db->prepare(
      "SELECT o.seq, p.device, p.counter, p.body FROM outbox o JOIN ops p ON p.seq = o.seq ORDER BY o.seq LIMIT ?");
  if (!st) return out;
  st->bind(1, static_cast<int64_t>(limit));
  while (true) {
    auto row = st->step();
    if (!row || !*row) break;
    out.push_back(OutboxEntry{st->integer(0), sync::OpId{st->text(1), static_cast<uint64_t>(st->integer(2))}, st->blob(3)});
  }
  return out;
}

Result<void> Store::mark_pushed(const std::vector<int64_t>& seqs) {
  Transaction tx(*impl_->db);
  if (auto r = tx.begin(); !r) return r;
  auto st = impl_->db->prepare("DELETE FROM outbox WHERE seq = ?");
  if (!st) return st.error();
  for (auto s : seqs) {
    st->bind(1, s);
    if (auto r = st->run(); !r) return r;
  }
  return tx.commit();
}

std::vector<std::string> Store::encoded_ops(const std::string& family_id) const {
  std::vector<std::string> out;
  auto st = impl_->db->prepare("SELECT body FROM ops WHERE family = ? ORDER BY seq");
  if (!st) return out;
  st->bind(1, family_id);
  while (true) {
    auto row = st->step();
    if (!row || !*row) break;
    out.push_back(st->blob(0));
  }
  return out;
}

std::vector<sync::OpId> Store::op_ids() const {
  std::vector<sync::OpId> out;
  auto st = impl_->db->prepare("SELECT device, counter FROM ops ORDER BY device, counter");
  if (!st) return out;
  while (true) {
    auto row = st->step();
    if (!row || !*row) break;
    out.push_back(sync::OpId{st->text(0), static_cast<uint64_t>(st->integer(1))});
  }
  return out;
}

}  // namespace hearth::client
