// Store: opening and unlocking, local edits, remote batches, purge. Reads: store_reads.cpp.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "hearth/core/json_writer.hpp"
#include "hearth/sync/encoding.hpp"
#include "ids.hpp"
#include "store_impl.hpp"

namespace hearth::client {

namespace {

constexpr int kStoreFormat = 2;

const char* kCreateTables = R"SQL(
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ops(
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  device TEXT NOT NULL, counter INTEGER NOT NULL,
  family TEXT NOT NULL, entity TEXT NOT NULL,
  body BLOB NOT NULL,                       -- the encoded op, sealed under the family key
  UNIQUE(device, counter));
CREATE INDEX IF NOT EXISTS ops_by_family ON ops(family, seq);
CREATE TABLE IF NOT EXISTS outbox(seq INTEGER PRIMARY KEY REFERENCES ops(seq));
CREATE TABLE IF NOT EXISTS entities(
  id TEXT PRIMARY KEY, family TEXT NOT NULL, type TEXT NOT NULL,
  created INTEGER NOT NULL, created_by BLOB NOT NULL, deleted INTEGER NOT NULL,
  occurred BLOB) WITHOUT ROWID;            -- created_by and occurred are sealed
CREATE INDEX IF NOT EXISTS entities_by_family ON entities(family);
-- one row per set field: an edit rewrites one small row, not the whole record
CREATE TABLE IF NOT EXISTS fields(
  entity TEXT NOT NULL, name TEXT NOT NULL, value BLOB NOT NULL, multi BLOB,
  PRIMARY KEY(entity, name)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS conflicts(
  id TEXT PRIMARY KEY, family TEXT NOT NULL, entity TEXT NOT NULL, body BLOB NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS conflicts_by_entity ON conflicts(entity);
CREATE INDEX IF NOT EXISTS conflicts_by_family ON conflicts(family);
CREATE TABLE IF NOT EXISTS secrets(name TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;   -- sealed
CREATE TABLE IF NOT EXISTS sync_state(key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rejected(seq INTEGER PRIMARY KEY, op_id TEXT NOT NULL, reason BLOB NOT NULL,  -- sealed
  at INTEGER NOT NULL);
)SQL";

// The partition whose key seals the device's own secrets (credential, server address, CA).
constexpr const char* kDevicePartition = "#device";

uint64_t system_ms() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
}

VaultCredentials credentials(const StoreOptions& o) {
  VaultCredentials c;
  c.encrypted = o.encrypted;
  c.pin = o.pin;
  c.keystore_key = o.keystore_key;
  c.kdf = crypto::ScryptParams{o.kdf.n, o.kdf.r, o.kdf.p};
  c.max_pin_attempts = o.max_pin_attempts;
  return c;
}

void remove_store_files(const std::string& path) {
  std::error_code ec;
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) std::filesystem::remove(path + suffix, ec);
}

}  // namespace

std::string finding_id(const std::string& assessment_id, const std::string& domain) {
  return assessment_id + "/finding/" + domain;
}
std::string voice_id(const std::string& assessment_id, const std::string& child_id) {
  return assessment_id + "/voice/" + child_id;
}

Store::Impl::Impl(std::unique_ptr<Database> database, const Schema& schema, StoreOptions opts)
    : db(std::move(database)), mat(schema), clock(opts.clock ? opts.clock : sync::PhysicalClock(system_ms)),
      options(std::move(opts)) {}

void Store::Impl::evict(const std::string& family) {
  for (const auto* e : mat.entities(family)) with_conflict_rows.erase(e->id());
  mat.forget_family(family);
  loaded.erase(family);
  if (vault) vault->forget_cached(family);
}

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

Result<void> Store::Impl::init(bool& wipe_needed) {
  // secure_delete: deleted content (a destroyed key) is overwritten, not left in free pages.
  // temp_store: SQLite's temporary files stay in memory. A larger checkpoint interval lets a
  // page edited many times reach the database file once.
  std::string pragmas = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
                        "PRAGMA secure_delete=ON; PRAGMA temp_store=MEMORY; PRAGMA wal_autocheckpoint=4000;"
                        "PRAGMA cache_size=-" + std::to_string(options.cache_mib * 1024) + ";";
  if (options.max_pages > 0) pragmas += "PRAGMA max_page_count=" + std::to_string(options.max_pages) + ";";
  if (auto r = db->exec(pragmas); !r) return r;

  Transaction tx(*db);
  if (auto r = tx.begin(); !r) return r;
  if (auto r = db->exec(kCreateTables); !r) return r;
  if (auto r = Vault::create_tables(*db); !r) return r;
  auto format = meta("store_format");
  if (!format) {
    if (options.practitioner_id.empty())
      return make_error(ErrorCode::invalid_argument, "a new store needs the practitioner id of its user");
    device = new_device_id();
    for (auto [k, v] : {std::pair<std::string, std::string>{"store_format", std::to_string(kStoreFormat)},
                        {"device_id", device}, {"clock", "0 0 0"}, {"practitioner", options.practitioner_id}})
      if (auto s = set_meta(k, v); !s) return s;
  } else if (*format != std::to_string(kStoreFormat)) {
    return make_error(ErrorCode::storage, "store format " + *format + " is not supported by this build (expects " +
                                              std::to_string(kStoreFormat) + ")");
  }
  auto unlocked = Vault::open(*db, credentials(options), wipe_needed);
  if (!unlocked) {
    if (auto c = tx.commit(); !c) return c;  // keep the failed-attempt count
    return unlocked.error();
  }
  vault = std::move(unlocked.value());
  if (auto r = tx.commit(); !r) return r;

  // A store belongs to one practitioner: edits are authored as them.
  auto owner = meta("practitioner");
  if (!owner) return owner.error();
  if (options.practitioner_id.empty()) options.practitioner_id = *owner;
  if (options.practitioner_id != *owner)
    return make_error(ErrorCode::locked, "this store belongs to practitioner " + *owner + ", not " + options.practitioner_id);

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
  auto last = db->prepare("SELECT family, counter, body FROM ops WHERE device = ? ORDER BY counter DESC LIMIT 1");
  if (!last) return last.error();
  last->bind(1, device);
  auto row = last->step();
  if (!row) return row.error();
  if (*row) {
    // The counter is a plain column, so op ids never repeat. The stamp is in the sealed body;
    // if that is damaged the saved clock stands, and the damage is reported when the family
    // is read, not here: the other families stay usable.
    sync::OpId id{device, static_cast<uint64_t>(last->integer(1))};
    counter = std::max(counter, id.counter);
    if (auto op = read_op(last->text(0), id, last->blob(2))) clock.restore(op->hlc);
  }
  return {};
}

Result<sync::Op> Store::Impl::read_op(const std::string& family, const sync::OpId& id, std::string_view body) {
  auto plain = vault->open(family, body, aad::op(id));
  if (!plain) return make_error(plain.error().code, "op " + id.to_string() + ": " + plain.error().message);
  auto op = sync::decode(*plain);
  if (!op) return op.error();
  if (op->id != id || op->family != family)
    return make_error(ErrorCode::corrupt, "op " + id.to_string() + ": stored under another id or family");
  return op;
}

Result<void> Store::Impl::insert_op(const sync::Op& op, std::string_view encoded, bool queue) {
  auto body = vault->seal(op.family, encoded, aad::op(op.id));
  if (!body) return body.error();
  auto ins = db->cached("INSERT INTO ops(device, counter, family, entity, body) VALUES(?, ?, ?, ?, ?)");
  if (!ins) return ins.error();
  (*ins)->bind(1, op.id.device).bind(2, static_cast<int64_t>(op.id.counter)).bind(3, op.family).bind(4, op.entity_id);
  (*ins)->bind_blob(5, *body);
  if (auto r = (*ins)->run(); !r) return r;
  if (!queue) return {};
  auto out = db->cached("INSERT INTO outbox(seq) VALUES(last_insert_rowid())");
  if (!out) return out.error();
  return (*out)->run();
}

Result<void> Store::Impl::ensure_family(const std::string& family) {
  if (loaded.count(family)) return {};
  auto st = db->prepare("SELECT seq, device, counter, body FROM ops WHERE family = ? ORDER BY seq");
  if (!st) return st.error();
  st->bind(1, family);
  while (true) {
    auto row = st->step();
    if (!row) return row.error();
    if (!*row) break;
    sync::OpId id{st->text(1), static_cast<uint64_t>(st->integer(2))};
    auto op = read_op(family, id, st->blob(3));
    auto applied = op ? mat.apply(*op) : Result<bool>(op.error());
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
  auto sealed = vault->seal(e.family(), value, aad::field(e.id(), f.name));
  if (!sealed) return sealed.error();
  auto up = db->cached("INSERT OR REPLACE INTO fields(entity, name, value, multi) VALUES(?, ?, ?, ?)");
  if (!up) return up.error();
  (*up)->bind(1, e.id()).bind(2, f.name).bind_blob(3, *sealed);
  std::string multi = e.multi_json(f);
  if (multi.empty()) {
    (*up)->bind_null(4);
  } else {
    auto sealed_multi = vault->seal(e.family(), multi, aad::multi(e.id(), f.name));
    if (!sealed_multi) return sealed_multi.error();
    (*up)->bind_blob(4, *sealed_multi);
  }
  return (*up)->run();
}

Result<void> Store::Impl::write_fields(const std::string& entity_id, const std::set<std::string>& names) {
  const sync::EntityMerge* e = mat.entity(entity_id);
  if (!e) return {};
  if (e->has_deletes()) return write_entity(entity_id, nullptr);  // an edit may have cancelled a delete
  for (const auto& name : names)
    if (const FieldDef* f = e->def().field(name))
      if (auto r = write_field(*e, *f); !r) return r;
  return write_conflicts(*e);
}

Result<void> Store::Impl::write_entity(const std::string& entity_id, const sync::Op* op) {
  const sync::EntityMerge* e = mat.entity(entity_id);
  if (!e) return {};
  const EntityDef& def = e->def();
  const bool everything = !op || op->kind == sync::OpKind::Create || op->kind == sync::OpKind::Restamp;
  // The header changes on create and delete, and on any edit once a delete exists
  // (an edit can cancel it).
  if (everything || op->kind == sync::OpKind::Delete || e->has_deletes()) {
    auto by = vault->seal(e->family(), e->created_by(), aad::created_by(e->id()));
    if (!by) return by.error();
    auto up = db->cached(
        "INSERT OR REPLACE INTO entities(id, family, type, created, created_by, deleted, occurred) "
        "VALUES(?, ?, ?, ?, ?, ?, ?)");
    if (!up) return up.error();
    (*up)->bind(1, e->id()).bind(2, e->family()).bind(3, def.name).bind(4, int64_t{e->created() ? 1 : 0});
    (*up)->bind_blob(5, *by).bind(6, int64_t{e->deleted() ? 1 : 0});
    Value occurred = def.occurred_field.empty() ? Value() : e->value(def.occurred_field);
    if (occurred.is_string()) {
      auto when = vault->seal(e->family(), occurred.as_string(), aad::occurred(e->id()));
      if (!when) return when.error();
      (*up)->bind_blob(7, *when);
    } else {
      (*up)->bind_null(7);
    }
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
  return write_conflicts(*e);
}

Result<void> Store::Impl::write_conflicts(const sync::EntityMerge& entity) {
  const sync::EntityMerge* e = &entity;
  const std::string& entity_id = e->id();
  auto conflicts = e->conflicts();
  if (conflicts.empty() && !with_conflict_rows.count(entity_id)) return {};
  auto del = db->cached("DELETE FROM conflicts WHERE entity = ?");
  if (!del) return del.error();
  (*del)->bind(1, entity_id);
  if (auto r = (*del)->run(); !r) return r;
  auto ins = db->cached("INSERT OR REPLACE INTO conflicts(id, family, entity, body) VALUES(?, ?, ?, ?)");
  if (!ins) return ins.error();
  for (const auto& c : conflicts) {
    auto body = vault->seal(c.family, c.to_json(), aad::conflict(c.id));
    if (!body) return body.error();
    (*ins)->bind(1, c.id).bind(2, c.family).bind(3, c.entity_id).bind_blob(4, *body);
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
  if (auto r = insert_op(op, sync::encode(op), /*outbox*/ true); !r) return fail(r.error());
  auto applied = mat.apply(op);
  if (!applied) return fail(applied.error());
  counter = previous_counter + 1;
  if (auto r = write_entity(op.entity_id, &op); !r) return fail(r.error());
  if (group) return op.entity_id;  // committed with the group
  if (auto r = fault("before_commit"); !r) return fail(r.error());
  if (auto r = tx.commit(); !r) return fail(r.error());
  return op.entity_id;
}

Result<void> Store::Impl::edit(const std::string& entity_id, const Builder& build) {
  auto family = family_of(entity_id);
  if (!family) return make_error(ErrorCode::not_found, "no record with id '" + entity_id + "'");
  if (auto r = ensure_family(*family); !r) return r;
  auto done = commit_local(build(mat));
  if (!done) return done.error();
  return {};
}

// ---- Store ----------------------------------------------------------------------------------

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::~Store() = default;

Result<std::unique_ptr<Store>> Store::open(const std::string& path, StoreOptions options) {
  auto db = Database::open(path);
  if (!db) return db.error();
  const Schema& schema = options.schema ? *options.schema : Schema::v1();
  auto impl = std::make_unique<Impl>(std::move(db.value()), schema, std::move(options));
  bool wipe = false;
  if (auto r = impl->init(wipe); !r) {
    if (wipe) {
      // Crypto-shred every key, flush the WAL so no old page keeps a copy, then delete.
      Transaction tx(*impl->db);
      if (tx.begin() && Vault::shred_all(*impl->db) && tx.commit())
        (void)impl->db->exec("PRAGMA wal_checkpoint(TRUNCATE)");
      impl.reset();
      remove_store_files(path);
    }
    return r.error();
  }
  return std::unique_ptr<Store>(new Store(std::move(impl)));
}

const std::string& Store::device_id() const { return impl_->device; }
const std::string& Store::practitioner_id() const { return impl_->options.practitioner_id; }

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
    auto fam = impl_->family_of(family);
    if (!fam || *fam != family) return make_error(ErrorCode::not_found, "no family with id '" + family + "'");
  }
  if (auto r = impl_->ensure_family(partition); !r) return r.error();
  std::string new_id = id ? *id : new_uuid_v7(impl_->clock.physical_now());
  return impl_->commit_local(impl_->mat.make_create(partition, type, new_id, fields));
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
  return impl_->apply_batch(encoded_ops, nullptr);
}

Result<ApplyReport> Store::apply_page(const std::string& family, const std::vector<std::string>& encoded_ops,
                                      int64_t cursor) {
  return impl_->apply_batch(encoded_ops, [&]() -> Result<void> {
    auto st = impl_->db->cached("INSERT OR REPLACE INTO sync_state(key, value) VALUES(?, ?)");
    if (!st) return st.error();
    (*st)->bind(1, "cursor:" + family).bind(2, cursor);
    return (*st)->run();
  });
}

Result<ApplyReport> Store::Impl::apply_batch(const std::vector<std::string>& encoded_ops,
                                             const std::function<Result<void>()>& also) {
  Impl& im = *this;
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
  // What the batch changed, written once the batch is in: the fields its ops named, or the
  // whole record after a create, a delete or a re-stamp.
  std::map<std::string, std::set<std::string>> touched;
  std::set<std::string> whole;
  for (const auto& [index, op] : ops) {
    if (im.mat.contains(op.id)) {
      ++report.duplicates;
      continue;
    }
    if (auto ok = im.mat.check(op); !ok) {
      report.rejected.push_back(RejectedOp{index, op.id.to_string(), ok.error()});
      continue;
    }
    if (auto r = im.insert_op(op, encoded_ops[index], /*outbox*/ false); !r) return fail(r.error());
    auto applied = im.mat.apply(op);
    if (!applied) return fail(applied.error());
    if (auto c = im.clock.observe(op.hlc); !c) report.clock_warnings.push_back(c.error().message);
    if (op.kind == sync::OpKind::Set || op.kind == sync::OpKind::Add || op.kind == sync::OpKind::Remove ||
        op.kind == sync::OpKind::Transition || op.kind == sync::OpKind::Acknowledge)
      touched[op.entity_id].insert(op.field);
    else
      whole.insert(op.entity_id);
    ++report.applied;
  }
  for (const auto& id : whole)
    if (auto r = im.write_entity(id, nullptr); !r) return fail(r.error());
  for (const auto& [id, fields] : touched) {
    if (whole.count(id)) continue;
    if (auto r = im.write_fields(id, fields); !r) return fail(r.error());
  }
  if (auto r = im.save_clock(); !r) return fail(r.error());
  if (also)
    if (auto r = also(); !r) return fail(r.error());
  if (auto r = im.fault("before_commit"); !r) return fail(r.error());
  if (auto r = tx.commit(); !r) return fail(r.error());
  return report;
}

Result<void> Store::put_secret(const std::string& name, const std::string& value) {
  auto sealed = impl_->vault->seal(kDevicePartition, value, "secret|" + name);
  if (!sealed) return sealed.error();
  auto st = impl_->db->prepare("INSERT OR REPLACE INTO secrets(name, value) VALUES(?, ?)");
  if (!st) return st.error();
  st->bind(1, name).bind_blob(2, *sealed);
  return st->run();
}

Result<std::optional<std::string>> Store::secret(const std::string& name) const {
  auto st = impl_->db->prepare("SELECT value FROM secrets WHERE name = ?");
  if (!st) return st.error();
  st->bind(1, name);
  auto row = st->step();
  if (!row) return row.error();
  if (!*row) return std::optional<std::string>();
  auto plain = impl_->vault->open(kDevicePartition, st->blob(0), "secret|" + name);
  if (!plain) return make_error(plain.error().code, "secret " + name + ": " + plain.error().message);
  return std::optional<std::string>(std::move(plain.value()));
}

Result<SyncCursors> Store::cursors() const {
  SyncCursors out;
  auto st = impl_->db->prepare("SELECT key, value FROM sync_state");
  if (!st) return st.error();
  while (true) {
    auto row = st->step();
    if (!row) return row.error();
    if (!*row) break;
    std::string key = st->text(0);
    if (key.rfind("cursor:", 0) == 0) out.families[key.substr(7)] = st->integer(1);
    else if (key == "feed_version") out.feed_version = st->integer(1);
  }
  auto epoch = impl_->db->prepare("SELECT value FROM meta WHERE key = 'history_epoch'");
  if (!epoch) return epoch.error();
  auto row = epoch->step();
  if (!row) return row.error();
  if (*row) out.history_epoch = epoch->text(0);
  return out;
}

Result<uint64_t> Store::delivered_counter() const {
  auto st = impl_->db->prepare("SELECT value FROM sync_state WHERE key = 'delivered_counter'");
  if (!st) return st.error();
  auto row = st->step();
  if (!row) return row.error();
  int64_t v = *row ? st->integer(0) : 0;
  if (v < 0) return make_error(ErrorCode::corrupt, "sync state 'delivered_counter' is negative");
  return static_cast<uint64_t>(v);
}

Result<void> Store::reset_for_new_history(const std::string& epoch) {
  Transaction tx(*impl_->db);
  if (auto r = tx.begin(); !r) return r;
  if (auto r = impl_->db->exec("DELETE FROM sync_state WHERE key LIKE 'cursor:%' OR key IN ('feed_version', 'delivered_counter')");
      !r)
    return r;
  if (auto r = impl_->set_meta("history_epoch", epoch); !r) return r;
  auto requeue = impl_->db->prepare(
      "INSERT OR IGNORE INTO outbox(seq) SELECT seq FROM ops WHERE device = ? AND seq NOT IN (SELECT seq FROM rejected)");
  if (!requeue) return requeue.error();
  requeue->bind(1, impl_->device);
  if (auto r = requeue->run(); !r) return r;
  return tx.commit();
}

Result<void> Store::finish_pull(int64_t feed_version, int64_t now_ms) {
  auto st = impl_->db->prepare("INSERT OR REPLACE INTO sync_state(key, value) VALUES('feed_version', ?), ('last_sync', ?)");
  if (!st) return st.error();
  st->bind(1, feed_version).bind(2, now_ms);
  return st->run();
}

Result<void> Store::record_push(const std::vector<int64_t>& accepted,
                                const std::vector<std::pair<int64_t, std::string>>& rejected, int64_t now_ms) {
  Transaction tx(*impl_->db);
  if (auto r = tx.begin(); !r) return r;
  auto del = impl_->db->prepare("DELETE FROM outbox WHERE seq = ?");
  if (!del) return del.error();
  for (int64_t seq : accepted) {
    del->bind(1, seq);
    if (auto r = del->run(); !r) return r;
  }
  if (!accepted.empty()) {  // the delivered counter: the highest own counter confirmed
    auto up = impl_->db->prepare(
        "INSERT INTO sync_state(key, value) SELECT 'delivered_counter', counter FROM ops WHERE seq = ? AND device = ? "
        "ON CONFLICT(key) DO UPDATE SET value = MAX(value, excluded.value)");
    if (!up) return up.error();
    for (int64_t seq : accepted) {
      up->bind(1, seq).bind(2, impl_->device);
      if (auto r = up->run(); !r) return r;
    }
  }
  auto ins = impl_->db->prepare(
      "INSERT OR REPLACE INTO rejected(seq, op_id, reason, at) "
      "SELECT seq, device || ':' || counter, ?, ? FROM ops WHERE seq = ?");
  if (!ins) return ins.error();
  for (const auto& [seq, reason] : rejected) {
    // the reason can quote a value from the op, so it is sealed like the op
    auto sealed = impl_->vault->seal(kDevicePartition, reason, "rejected|" + std::to_string(seq));
    if (!sealed) return sealed.error();
    ins->bind_blob(1, *sealed).bind(2, now_ms).bind(3, seq);
    if (auto r = ins->run(); !r) return r;
    del->bind(1, seq);
    if (auto r = del->run(); !r) return r;
  }
  return tx.commit();
}

Result<std::vector<RejectedPush>> Store::rejected_ops() const {
  std::vector<RejectedPush> out;
  auto st = impl_->db->prepare("SELECT seq, op_id, reason, at FROM rejected ORDER BY seq");
  if (!st) return st.error();
  while (true) {
    auto row = st->step();
    if (!row) return row.error();
    if (!*row) break;
    auto reason = impl_->vault->open(kDevicePartition, st->blob(2), "rejected|" + std::to_string(st->integer(0)));
    if (!reason) return make_error(reason.error().code, "rejected op " + st->text(1) + ": " + reason.error().message);
    out.push_back(RejectedPush{st->text(1), *reason, st->integer(3)});
  }
  return out;
}

void Store::correct_clock(int64_t offset_ms) { impl_->clock.correct(offset_ms); }
int64_t Store::clock_now_ms() const { return static_cast<int64_t>(impl_->clock.physical_now()); }

Result<void> Store::change_pin(const std::string& old_pin, const std::string& new_pin) {
  Transaction tx(*impl_->db);
  if (auto r = tx.begin(); !r) return r;
  const auto& k = impl_->options.kdf;
  if (auto r = impl_->vault->change_pin(old_pin, new_pin, crypto::ScryptParams{k.n, k.r, k.p}); !r) return r;
  if (auto r = tx.commit(); !r) return r;
  return checkpoint();  // the old wrapping must not survive in the WAL either
}

Result<void> Store::checkpoint() { return impl_->db->exec("PRAGMA wal_checkpoint(TRUNCATE)"); }

Result<void> Store::purge_family(const std::string& family_id, bool discard_unsynced) {
  Impl& im = *impl_;
  if (family_id.empty()) return make_error(ErrorCode::invalid_argument, "name the family to purge");
  auto pending = im.db->prepare("SELECT count(*) FROM outbox o JOIN ops p ON p.seq = o.seq WHERE p.family = ?");
  if (!pending) return pending.error();
  pending->bind(1, family_id);
  auto row = pending->step();
  if (!row) return row.error();
  int64_t unsynced = *row ? pending->integer(0) : 0;
  pending->reset();
  if (unsynced > 0 && !discard_unsynced)
    return make_error(ErrorCode::conflict, "family " + family_id + " has " + std::to_string(unsynced) +
                                               " unsynced operations; sync first, or purge discarding them");
  im.evict(family_id);
  {  // 1. the key: from here on nothing of the family can be read
    Transaction tx(*im.db);
    if (auto r = tx.begin(); !r) return r;
    if (auto r = im.vault->destroy_family_key(family_id); !r) return r;
    if (auto r = tx.commit(); !r) return r;
  }
  {  // 2. the rows
    Transaction tx(*im.db);
    if (auto r = tx.begin(); !r) return r;
    for (const char* sql :
         {"DELETE FROM outbox WHERE seq IN (SELECT seq FROM ops WHERE family = ?1)",
          "DELETE FROM fields WHERE entity IN (SELECT id FROM entities WHERE family = ?1)",
          "DELETE FROM entities WHERE family = ?1", "DELETE FROM conflicts WHERE family = ?1",
          "DELETE FROM rejected WHERE seq IN (SELECT seq FROM ops WHERE family = ?1)",
          "DELETE FROM ops WHERE family = ?1", "DELETE FROM sync_state WHERE key = 'cursor:' || ?1"}) {
      auto st = im.db->prepare(sql);
      if (!st) return st.error();
      st->bind(1, family_id);
      if (auto r = st->run(); !r) return r;
    }
    if (auto r = tx.commit(); !r) return r;
  }
  // 3. no earlier page image (with the wrapped key) stays in the WAL
  return checkpoint();
}

}  // namespace hearth::client
