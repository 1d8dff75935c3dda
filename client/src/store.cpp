// Store: opening and unlocking, local edits, remote batches, purge. Reads: store_reads.cpp.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "hearth/core/json_writer.hpp"
#include "hearth/core/text.hpp"
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
-- own ops the server refused: kept (the op stays in `ops`), reported, purged only once acknowledged
CREATE TABLE IF NOT EXISTS quarantine(
  seq INTEGER PRIMARY KEY REFERENCES ops(seq),
  op_id TEXT NOT NULL, family TEXT NOT NULL,
  reason BLOB NOT NULL,                     -- sealed under the device key
  at INTEGER NOT NULL,
  reported INTEGER NOT NULL DEFAULT 0, acknowledged INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS quarantine_by_family ON quarantine(family);
-- own ops the server kept but did not apply (beyond the author's rights): on the server, so out
-- of the outbox; the op stays in `ops` but out of the local view (ensure_family skips it)
CREATE TABLE IF NOT EXISTS held(
  seq INTEGER PRIMARY KEY REFERENCES ops(seq),
  op_id TEXT NOT NULL, family TEXT NOT NULL,
  body BLOB NOT NULL,                       -- route_to and reason, sealed under the device key
  at INTEGER NOT NULL,
  outcome TEXT,                             -- NULL while waiting; applied, dismissed
  decision BLOB,                            -- who decided and why, sealed under the device key
  decided_at INTEGER);
CREATE INDEX IF NOT EXISTS held_by_family ON held(family);
-- held ops of families purged from the device (a view change, a removal, an erasure): the server
-- still holds each op, so what stays here is the practitioner's sight of it and its decision.
-- The family key is gone, so the row carries its own description, WITHOUT the edited value.
-- seq is the op's former seq (ops.seq is never reused): held and held_purged list in one order.
CREATE TABLE IF NOT EXISTS held_purged(
  seq INTEGER PRIMARY KEY,
  op_id TEXT NOT NULL UNIQUE, family TEXT NOT NULL,
  body BLOB NOT NULL,                       -- route_to, record and what in words, reason; device key
  at INTEGER NOT NULL,
  outcome TEXT,                             -- NULL while waiting; applied, dismissed
  decision BLOB,                            -- who decided and why, sealed under the device key
  decided_at INTEGER);
-- reads of T2/T3 records waiting for upload (store_views.cpp); AUTOINCREMENT: a seq is never reused
CREATE TABLE IF NOT EXISTS record_views(
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  body BLOB NOT NULL);                      -- family, type, record and time, sealed under the device key
-- the practitioner's view of each family as its last page said (digest and withheld list)
CREATE TABLE IF NOT EXISTS family_views(
  family TEXT PRIMARY KEY,
  body BLOB NOT NULL) WITHOUT ROWID;        -- sealed under the family key
)SQL";

// Stores made before the quarantine kept refused ops in `rejected` (same sealing).
const char* kMigrateRejected = R"SQL(
INSERT OR IGNORE INTO quarantine(seq, op_id, family, reason, at)
  SELECT r.seq, r.op_id, p.family, r.reason, r.at FROM rejected r JOIN ops p ON p.seq = r.seq;
DROP TABLE rejected;
)SQL";



uint64_t system_ms() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
}

VaultCredentials credentials(const StoreOptions& o) {
  VaultCredentials c;
  c.encrypted = o.encrypted;
  c.pin = o.pin;
  c.keystore_key = o.keystore_key;
  c.kdf = o.kdf;
  c.max_pin_attempts = o.max_pin_attempts;
  return c;
}

void remove_store_files(const std::string& path) {
  std::error_code ec;
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) std::filesystem::remove(path + suffix, ec);
}

// What a wipe destroys that is on no server, from plain columns: it can be told without the
// PIN and before the keys are gone. Unknown (a damaged file) counts as nothing known.
LostWork unsent_counts(Database& db) {
  LostWork lost;
  auto st = db.prepare("SELECT (SELECT count(*) FROM outbox), "
                       "(SELECT count(*) FROM quarantine WHERE acknowledged = 0)");
  if (!st) return lost;
  auto row = st->step();
  if (!row || !*row) return lost;
  lost.unsynced = static_cast<size_t>(st->integer(0));
  lost.quarantined = static_cast<size_t>(st->integer(1));
  return lost;
}

std::string describe(const LostWork& lost) {
  if (lost.unsynced == 0 && lost.quarantined == 0) return "every operation on it had reached the server";
  return std::to_string(lost.unsynced) + " operations not yet synced and " + std::to_string(lost.quarantined) +
         " refused by the server and not yet acknowledged were on it and are lost";
}

// Crypto-shreds every key, flushes the WAL so no old page keeps a copy, then deletes the files.
void shred_and_remove(std::unique_ptr<Database> db, const std::string& path) {
  {
    Transaction tx(*db);
    if (tx.begin() && Vault::shred_all(*db) && tx.commit()) (void)db->exec("PRAGMA wal_checkpoint(TRUNCATE)");
  }
  db.reset();
  remove_store_files(path);
}

}  // namespace

std::string finding_id(const std::string& assessment_id, const std::string& domain) {
  return assessment_id + "/finding/" + domain;
}
std::string voice_id(const std::string& assessment_id, const std::string& child_id) {
  return assessment_id + "/voice/" + child_id;
}

Store::Impl::Impl(std::unique_ptr<Database> database, const Schema& schema, StoreOptions opts)
    : db(std::move(database)), mat(schema, RequiredFields::may_be_withheld), clock(opts.clock ? opts.clock : sync::PhysicalClock(system_ms)),
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
  {
    auto old = db->prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'rejected'");
    if (!old) return old.error();
    auto row = old->step();
    if (!row) return row.error();
    old->reset();
    if (*row)
      if (auto r = db->exec(kMigrateRejected); !r) return r;
  }
  {
    // Stores made before held ops could be decided lack the decision columns.
    auto cols = db->prepare("SELECT 1 FROM pragma_table_info('held') WHERE name = 'outcome'");
    if (!cols) return cols.error();
    auto row = cols->step();
    if (!row) return row.error();
    cols->reset();
    if (!*row)
      if (auto r = db->exec("ALTER TABLE held ADD COLUMN outcome TEXT; ALTER TABLE held ADD COLUMN decision BLOB; "
                            "ALTER TABLE held ADD COLUMN decided_at INTEGER;");
          !r)
        return r;
  }
  auto format = meta("store_format");
  if (!format) {
    if (options.practitioner_id.empty())
      return make_error(ErrorCode::invalid_argument, "a new store needs the practitioner id of its user");
    if (auto ok = check_id("practitioner id", options.practitioner_id); !ok)
      return make_error(ErrorCode::invalid_argument, ok.error().message);
    auto made = new_device_id();
    if (!made) return made.error();
    device = std::move(made.value());
    for (auto [k, v] : {std::pair<std::string, std::string>{"store_format", std::to_string(kStoreFormat)},
                        {"device_id", device}, {"clock", "0 0 0"}, {"practitioner", options.practitioner_id}})
      if (auto s = set_meta(k, v); !s) return s;
  } else if (*format != std::to_string(kStoreFormat)) {
    return make_error(ErrorCode::storage, "store format " + *format + " is not supported by this build (expects " +
                                              std::to_string(kStoreFormat) + ")");
  }
  if (format) {
    // Stores made before counters came from the database kept the last counter in 'clock'.
    auto saved = meta("clock");
    unsigned long long c = 0;
    if (saved && std::sscanf(saved->c_str(), "%llu", &c) == 1 && c > 0 && c < INT64_MAX)
      if (auto r = raise_counter_floor(static_cast<int64_t>(c)); !r) return r;
  }
  auto unlocked = Vault::open(*db, credentials(options), wipe_needed);
  if (!unlocked) {
    if (auto c = tx.commit(); !c) return c;  // keep the failed-attempt count
    return unlocked.error();
  }
  vault = std::move(unlocked.value());
  // The key lease (N5): a new store's first, or the first of a store made before it existed.
  if (vault->lease_to_start())
    if (auto r = start_lease(); !r) return r;
  if (auto r = tx.commit(); !r) return r;

  // A store belongs to one practitioner: edits are authored as them.
  auto owner = meta("practitioner");
  if (!owner) return owner.error();
  if (options.practitioner_id.empty()) options.practitioner_id = *owner;
  if (options.practitioner_id != *owner)
    return make_error(ErrorCode::locked, "this store belongs to practitioner " + *owner + ", not " + options.practitioner_id);

  auto dev = meta("device_id");
  if (!dev) return make_error(ErrorCode::corrupt, "store metadata is incomplete: " + dev.error().message);
  device = *dev;
  // From here on the caches below are valid for this version of the file.
  if (auto r = refresh(/*force*/ true); !r) return r;
  return {};
}

Result<void> Store::Impl::load_clock() {
  auto saved = meta("clock");
  if (!saved) return make_error(ErrorCode::corrupt, "store metadata is incomplete: " + saved.error().message);
  unsigned long long c = 0, wall = 0;
  unsigned long logical = 0;
  if (std::sscanf(saved->c_str(), "%llu %llu %lu", &c, &wall, &logical) != 3 || logical > UINT32_MAX)
    return make_error(ErrorCode::corrupt, "store metadata 'clock' is malformed");
  clock.restore(sync::Hlc{wall, static_cast<uint32_t>(logical)});
  // Local edits do not rewrite the saved clock (one page less per edit): the device's own
  // last op carries its stamp.
  auto last = db->prepare("SELECT family, counter, body FROM ops WHERE device = ? ORDER BY counter DESC LIMIT 1");
  if (!last) return last.error();
  last->bind(1, device);
  auto row = last->step();
  if (!row) return row.error();
  if (*row) {
    // The stamp is in the sealed body; if that is damaged the saved clock stands, and the
    // damage is reported when the family is read, not here: the other families stay usable.
    sync::OpId id{device, static_cast<uint64_t>(last->integer(1))};
    if (auto op = read_op(last->text(0), id, last->blob(2))) clock.restore(op->hlc);
  }
  // the correction the server last measured, learned on whichever connection synced
  auto offset = db->prepare("SELECT value FROM sync_state WHERE key = 'clock_offset'");
  if (!offset) return offset.error();
  auto off = offset->step();
  if (!off) return off.error();
  if (*off) clock.correct(offset->integer(0));
  return {};
}

Result<void> Store::Impl::refresh(bool force) {
  auto st = db->cached("PRAGMA data_version");
  if (!st) return st.error();
  auto row = (*st)->step();
  if (!row) return row.error();
  if (!*row) return make_error(ErrorCode::storage, "PRAGMA data_version returned nothing");
  int64_t version = (*st)->integer(0);
  (*st)->reset();
  if (version == seen_version && !force) return {};
  // Another connection committed: what this Store holds in memory may be behind the file.
  for (const auto& family : std::set<std::string>(loaded)) evict(family);
  with_conflict_rows.clear();
  lease_cache.reset();
  if (vault) vault->forget_all_cached();
  seen_version = version;
  return load_clock();
}

Result<uint64_t> Store::Impl::next_counter() {
  // Read inside the writing transaction (BEGIN IMMEDIATE), so no other connection can take the
  // same counter; the floor keeps counters of purged own ops from being used again.
  auto st = db->cached(
      "SELECT max(coalesce((SELECT max(counter) FROM ops WHERE device = ?1), 0), "
      "coalesce((SELECT value FROM sync_state WHERE key = 'counter_floor'), 0))");
  if (!st) return st.error();
  (*st)->bind(1, device);
  auto row = (*st)->step();
  if (!row) return row.error();
  int64_t last = *row ? (*st)->integer(0) : 0;
  (*st)->reset();
  if (last < 0 || last >= INT64_MAX) return make_error(ErrorCode::corrupt, "the op counter of device " + device + " is out of range");
  return static_cast<uint64_t>(last) + 1;
}

Result<void> Store::Impl::raise_counter_floor(int64_t value) {
  auto st = db->cached(
      "INSERT INTO sync_state(key, value) VALUES('counter_floor', ?) "
      "ON CONFLICT(key) DO UPDATE SET value = max(value, excluded.value)");
  if (!st) return st.error();
  (*st)->bind(1, value);
  return (*st)->run();
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
  // Ops the server holds for a decision are not part of the view (store.hpp HeldOp).
  auto st = db->prepare(
      "SELECT seq, device, counter, body FROM ops WHERE family = ? AND seq NOT IN (SELECT seq FROM held) ORDER BY seq");
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

bool Store::Impl::holds_family(const std::string& family) {
  if (auto root = family_of(family); root && *root == family) return true;
  auto st = db->cached("SELECT 1 FROM entities WHERE family = ? LIMIT 1");
  if (!st) return false;
  (*st)->bind(1, family);
  auto row = (*st)->step();
  bool held = row && *row;
  (*st)->reset();
  return held;
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
  // The first number was the op counter; counters now come from the ops table, so it is 0.
  auto last = clock.last();
  return set_meta("clock", "0 " + std::to_string(last.wall_ms) + " " + std::to_string(last.logical));
}

Result<void> Store::Impl::fault(std::string_view point) {
  if (!fault_hook) return {};
  return fault_hook(point);
}

Result<std::string> Store::Impl::local(const std::function<Result<sync::Op>()>& build) {
  Transaction tx(*db);
  if (!group) {  // a group began its transaction and refreshed already
    if (auto r = tx.begin(); !r) return r.error();
    if (auto r = refresh(); !r) return r.error();
  }
  // Every edit raises the highest time seen (offline periods, DOMAIN.md §6.8).
  if (auto r = note_seen(clock.physical_now()); !r) return r.error();
  auto built = build();
  if (!built) return built.error();
  sync::Op op = std::move(built.value());
  auto fail = [&](Error e) -> Result<std::string> {
    evict(op.family);  // the in-memory merge may hold the op; rebuild it from the log
    if (group) group->failed = true;  // the group's transaction may hold part of this edit
    return e;
  };
  auto counter = next_counter();
  if (!counter) return fail(counter.error());
  op.id = sync::OpId{device, *counter};
  op.hlc = clock.tick();
  op.author = options.practitioner_id;
  if (group) group->families.insert(op.family);
  if (auto r = insert_op(op, sync::encode(op), /*outbox*/ true); !r) return fail(r.error());
  auto applied = mat.apply(op);
  if (!applied) return fail(applied.error());
  if (auto r = write_entity(op.entity_id, &op); !r) return fail(r.error());
  if (group) return op.entity_id;  // committed with the group
  if (auto r = fault("before_commit"); !r) return fail(r.error());
  if (auto r = tx.commit(); !r) return fail(r.error());
  return op.entity_id;
}

Result<void> Store::Impl::edit(const std::string& entity_id, const Builder& build) {
  auto done = local([&]() -> Result<sync::Op> {
    auto family = family_of(entity_id);
    if (!family) return make_error(ErrorCode::not_found, "no record with id '" + entity_id + "'");
    if (auto r = ensure_family(*family); !r) return r.error();
    return build(mat);
  });
  if (!done) return done.error();
  return {};
}

// ---- Store ----------------------------------------------------------------------------------

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::~Store() = default;

Result<std::unique_ptr<Store>> Store::open(const std::string& path, StoreOptions options) {
  try {
    auto db = Database::open(path);
    if (!db) return db.error();
    const Schema& schema = options.schema ? *options.schema : Schema::v1();
    auto impl = std::make_unique<Impl>(std::move(db.value()), schema, std::move(options));
    impl->path = path;
    bool wipe = false;
    if (auto r = impl->init(wipe); !r) {
      if (r.error().code != ErrorCode::locked) return r.error();
      // The PIN limit wipes the store (a lost tablet): what was on no server is told, not hidden.
      LostWork lost = unsent_counts(*impl->db);
      if (wipe) {
        auto handle = std::move(impl->db);
        impl.reset();
        shred_and_remove(std::move(handle), path);
        return make_error(ErrorCode::locked, r.error().message + "; " + describe(lost));
      }
      if (lost.unsynced > 0)
        return make_error(ErrorCode::locked, r.error().message + "; it holds " + std::to_string(lost.unsynced) +
                                                 " operations not yet synced");
      return r.error();
    }
    // Past the purge period of the last policy (DOMAIN.md §6.8, S2c) the synced records go now.
    // A failure leaves them locked (reads refuse them) and is tried again at the next open: the
    // store must still open, so that a sync can bring it back.
    // The time of this open counts as seen, so that a clock set back later does not unlock the
    // store (S2c). A failure is not fatal: the next edit records it.
    {
      Transaction tx(*impl->db);
      if (tx.begin() && impl->guard_seen() && impl->note_seen(impl->clock.physical_now())) (void)tx.commit();
    }
    (void)impl->purge_expired();
    return std::unique_ptr<Store>(new Store(std::move(impl)));
  } catch (const std::bad_alloc&) {
    return make_error(ErrorCode::storage, "open " + path + ": out of memory");
  } catch (const std::exception& e) {
    return make_error(ErrorCode::storage, "open " + path + ": unexpected failure: " + e.what());
  } catch (...) {
    return make_error(ErrorCode::storage, "open " + path + ": unexpected failure");
  }
}

Result<LostWork> Store::wipe() {
  return impl_->call("wipe", [&]() -> Result<LostWork> {
    Impl& im = *impl_;
    if (!im.db) return make_error(ErrorCode::invalid_argument, "this store was wiped already");
    LostWork lost = unsent_counts(*im.db);
    im.vault.reset();
    im.loaded.clear();
    im.with_conflict_rows.clear();
    shred_and_remove(std::move(im.db), im.path);
    return lost;
  });
}

const std::string& Store::device_id() const { return impl_->device; }
const std::string& Store::practitioner_id() const { return impl_->options.practitioner_id; }

Result<std::string> Store::create_family(const FieldValues& fields) {
  return impl_->app_call("create_family", [&]() -> Result<std::string> {
    Impl& im = *impl_;
    return im.local([&]() -> Result<sync::Op> {
      auto id = new_uuid_v7(im.clock.physical_now());
      if (!id) return id.error();
      if (auto r = im.ensure_family(*id); !r) return r.error();
      return im.mat.make_create(*id, im.mat.schema().family_root_type(), *id, fields);
    });
  });
}

Result<std::string> Store::create(const std::string& family, const std::string& type, const FieldValues& fields,
                                  const std::optional<std::string>& id) {
  return impl_->app_call("create", [&]() -> Result<std::string> {
    Impl& im = *impl_;
    return im.local([&]() -> Result<sync::Op> {
      const EntityDef* def = im.mat.schema().entity(type);
      if (!def) return make_error(ErrorCode::invalid_argument, "unknown entity type '" + type + "'");
      if (im.mat.schema().is_family_root(type))
        return make_error(ErrorCode::invalid_argument, "create a " + type + " with create_family()");
      std::string partition = def->family_scoped ? family : std::string();
      if (def->family_scoped) {
        if (family.empty()) return make_error(ErrorCode::invalid_argument, type + " must belong to a family");
        if (!im.holds_family(family)) return make_error(ErrorCode::not_found, "no family with id '" + family + "'");
      }
      // A sharing act needs a fresh policy snapshot; recording never does (DOMAIN.md §6.8).
      if (def->sharing_act)
        if (auto r = im.may_share(family); !r) return r.error();
      if (auto r = im.ensure_family(partition); !r) return r.error();
      std::string new_id;
      if (id) {
        new_id = *id;
      } else {
        auto made = new_uuid_v7(im.clock.physical_now());
        if (!made) return made.error();
        new_id = std::move(made.value());
      }
      return im.mat.make_create(partition, type, new_id, fields);
    });
  });
}

Result<void> Store::update(const std::string& entity_id, const std::string& field, const Value& value) {
  return impl_->app_call("update", [&]() -> Result<void> {
    return impl_->edit(entity_id, [&](const sync::Materialiser& m) { return m.make_set(entity_id, field, value); });
  });
}

Result<void> Store::add_element(const std::string& entity_id, const std::string& field, const std::string& element) {
  return impl_->app_call("add_element", [&]() -> Result<void> {
    return impl_->edit(entity_id, [&](const sync::Materialiser& m) { return m.make_add(entity_id, field, element); });
  });
}

Result<void> Store::remove_element(const std::string& entity_id, const std::string& field, const std::string& element) {
  return impl_->app_call("remove_element", [&]() -> Result<void> {
    return impl_->edit(entity_id, [&](const sync::Materialiser& m) { return m.make_remove(entity_id, field, element); });
  });
}

Result<void> Store::transition(const std::string& entity_id, const std::string& to_state) {
  return impl_->app_call("transition", [&]() -> Result<void> {
    return impl_->edit(entity_id, [&](const sync::Materialiser& m) { return m.make_transition(entity_id, to_state); });
  });
}

Result<void> Store::delete_entity(const std::string& entity_id) {
  return impl_->app_call("delete_entity", [&]() -> Result<void> {
    return impl_->edit(entity_id, [&](const sync::Materialiser& m) { return m.make_delete(entity_id); });
  });
}

Result<void> Store::resolve_conflict(const std::string& conflict_id, const std::optional<Value>& chosen) {
  return impl_->app_call("resolve_conflict", [&]() -> Result<void> {
    Impl& im = *impl_;
    auto done = im.local([&]() -> Result<sync::Op> {
      auto st = im.db->prepare("SELECT entity FROM conflicts WHERE id = ?");
      if (!st) return st.error();
      st->bind(1, conflict_id);
      auto row = st->step();
      if (!row) return row.error();
      if (!*row) return make_error(ErrorCode::not_found, "no open conflict with id '" + conflict_id + "'");
      std::string entity_id = st->text(0);
      auto family = im.family_of(entity_id);
      if (!family) return make_error(ErrorCode::not_found, "no record with id '" + entity_id + "'");
      if (auto r = im.ensure_family(*family); !r) return r.error();
      return im.mat.make_resolution(entity_id, conflict_id, chosen);
    });
    if (!done) return done.error();
    return {};
  });
}

Result<void> Store::atomically(const std::function<Result<void>()>& edits) {
  // the edits inside are app calls: each checks the key lease
  return impl_->call("atomically", [&]() -> Result<void> {
    Impl& im = *impl_;
    if (im.group) return make_error(ErrorCode::invalid_argument, "atomic groups of edits do not nest");
    Transaction tx(*im.db);
    if (auto r = tx.begin(); !r) return r;
    if (auto r = im.refresh(); !r) return r;
    im.group = Impl::Group{false, {}};
    struct EndGroup {  // also when `edits` throws
      Impl& impl;
      ~EndGroup() { impl.group.reset(); }
    } end_group{im};
    Result<void> result = edits();
    Impl::Group g = std::move(*im.group);
    im.group.reset();
    if (result && g.failed) result = make_error(ErrorCode::storage, "an edit in the group failed to store; nothing was kept");
    if (result) result = im.fault("before_commit");
    if (result) result = tx.commit();
    if (!result)
      for (const auto& f : g.families) im.evict(f);
    return result;
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
  auto fail = [&](Error e) -> Result<ApplyReport> {
    for (const auto& f : families) im.evict(f);
    return e;
  };
  Transaction tx(*im.db);
  if (auto r = tx.begin(); !r) return r.error();
  if (auto r = im.refresh(); !r) return r.error();
  for (const auto& f : families)
    if (auto r = im.ensure_family(f); !r) return fail(r.error());
  // What the batch changed, written once the batch is in: the fields its ops named, or the
  // whole record after a create, a delete or a re-stamp.
  std::map<std::string, std::set<std::string>> touched;
  std::set<std::string> whole;
  std::vector<const sync::Op*> observed;
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
    observed.push_back(&op);
    if (op.kind == sync::OpKind::Set || op.kind == sync::OpKind::Add || op.kind == sync::OpKind::Remove ||
        op.kind == sync::OpKind::Transition || op.kind == sync::OpKind::Acknowledge)
      touched[op.entity_id].insert(op.field);
    else
      whole.insert(op.entity_id);
    ++report.applied;
  }
  // The clock observes each op's effective stamp once the batch is in: a restamp that follows
  // its op in the batch (the server appends them together) is then taken into account, so a
  // colleague's clock that ran ahead does not drag this one (docs/change-log.md, "Clocks").
  for (const sync::Op* op : observed)
    if (auto c = im.clock.observe(im.mat.effective_stamp(*op)); !c) report.clock_warnings.push_back(c.error().message);
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






Result<std::vector<QuarantinedOp>> Store::Impl::read_quarantine() {
  std::vector<QuarantinedOp> out;
  auto st = db->prepare("SELECT seq, op_id, family, reason, at, reported, acknowledged FROM quarantine ORDER BY seq");
  if (!st) return st.error();
  auto done = st->each([&](Statement& row) -> Result<void> {
    auto reason = vault->open(kDevicePartition, row.blob(3), aad::reason(row.integer(0)));
    if (!reason) return make_error(reason.error().code, "quarantined op " + row.text(1) + ": " + reason.error().message);
    out.push_back(QuarantinedOp{row.text(1), row.text(2), std::move(reason.value()), row.integer(4),
                                row.integer(5) != 0, row.integer(6) != 0});
    return {};
  });
  if (!done) return done.error();
  return out;
}

Result<std::vector<QuarantinedOp>> Store::quarantine() const {
  return impl_->app_call("quarantine", [&] { return impl_->read_quarantine(); });
}

Result<void> Store::Impl::mark_quarantine(const std::vector<std::string>& op_ids, const char* sql) {
  Transaction tx(*db);
  if (auto r = tx.begin(); !r) return r;
  auto st = db->prepare(sql);
  if (!st) return st.error();
  for (const auto& id : op_ids) {
    st->bind(1, id);
    if (auto r = st->run(); !r) return r;
  }
  return tx.commit();
}







Result<void> Store::change_pin(const std::string& old_pin, const std::string& new_pin) {
  return impl_->app_call("change_pin", [&]() -> Result<void> {
    Transaction tx(*impl_->db);
    if (auto r = tx.begin(); !r) return r;
    if (auto r = impl_->vault->change_pin(old_pin, new_pin, impl_->options.kdf); !r) return r;
    if (auto r = tx.commit(); !r) return r;
    return checkpoint();  // the old wrapping must not survive in the WAL either
  });
}

Result<void> Store::checkpoint() {
  return impl_->call("checkpoint", [&]() -> Result<void> { return impl_->db->exec("PRAGMA wal_checkpoint(TRUNCATE)"); });
}

Result<std::string> Store::Impl::unsent_work(const std::string& family) {
  auto st = db->prepare(
      "SELECT (SELECT count(*) FROM outbox o JOIN ops p ON p.seq = o.seq WHERE p.family = ?1), "
      "(SELECT count(*) FROM quarantine WHERE family = ?1 AND acknowledged = 0)");
  if (!st) return st.error();
  st->bind(1, family);
  auto row = st->step();
  if (!row) return row.error();
  int64_t queued = *row ? st->integer(0) : 0, refused = *row ? st->integer(1) : 0;
  std::string out;
  if (queued > 0) out = std::to_string(queued) + " operations wait to be sent";
  if (refused > 0)
    out += (out.empty() ? "" : ", and ") + std::to_string(refused) +
           " operations the server refused wait for it to acknowledge their report";
  if (!out.empty()) out += "; it is purged at a sync after that";
  return out;
}

Result<void> Store::Impl::erase_family(const std::string& family_id) {
  evict(family_id);
  // the counters of own ops erased here are never used again
  auto last = next_counter();
  if (!last) return last.error();
  if (auto r = raise_counter_floor(static_cast<int64_t>(*last - 1)); !r) return r;
  // the practitioner keeps sight of the family's held ops: described while the key still opens them
  if (auto r = keep_held(family_id); !r) return r;
  if (auto r = vault->destroy_family_key(family_id); !r) return r;
  for (const char* sql :
       {"DELETE FROM outbox WHERE seq IN (SELECT seq FROM ops WHERE family = ?1)",
        "DELETE FROM fields WHERE entity IN (SELECT id FROM entities WHERE family = ?1)",
        "DELETE FROM entities WHERE family = ?1", "DELETE FROM conflicts WHERE family = ?1",
        "DELETE FROM quarantine WHERE family = ?1", "DELETE FROM held WHERE family = ?1",
        "DELETE FROM family_views WHERE family = ?1",
        "DELETE FROM ops WHERE family = ?1", "DELETE FROM sync_state WHERE key = 'cursor:' || ?1"}) {
    auto st = db->prepare(sql);
    if (!st) return st.error();
    st->bind(1, family_id);
    if (auto r = st->run(); !r) return r;
  }
  return {};
}

Result<void> Store::purge_family(const std::string& family_id) {
  return impl_->call("purge_family", [&]() -> Result<void> {
    Impl& im = *impl_;
    if (family_id.empty()) return make_error(ErrorCode::invalid_argument, "name the family to purge");
    {
      // One transaction: the check that no unsent work is held, the key (from here on nothing of
      // the family can be read) and the rows. Another connection cannot add an edit between the
      // check and the erasure.
      Transaction tx(*im.db);
      if (auto r = tx.begin(); !r) return r;
      if (auto r = im.refresh(); !r) return r;
      auto held = im.unsent_work(family_id);
      if (!held) return held.error();
      if (!held->empty()) return make_error(ErrorCode::conflict, "family " + family_id + " is kept: " + *held);
      if (auto r = im.erase_family(family_id); !r) return r;
      if (auto r = tx.commit(); !r) {
        im.evict(family_id);  // a key cached during the failed attempt
        return r;
      }
    }
    // no earlier page image (with the wrapped key) stays in the WAL
    return checkpoint();
  });
}

}  // namespace hearth::client
