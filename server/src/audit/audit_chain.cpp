#include "audit_chain.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "hearth/core/json_writer.hpp"
#include "hearth/platform/encoding.hpp"
#include "storage/sql/dialect.hpp"
#include "hex.hpp"

namespace hearth::server::audit {

namespace fs = std::filesystem;
using sql::Connection;
using sql::Statement;

namespace {

const char* kTables = R"SQL(
CREATE TABLE IF NOT EXISTS audit_events(chain TEXT NOT NULL, idx INTEGER NOT NULL, at INTEGER NOT NULL,
  actor TEXT NOT NULL, device TEXT NOT NULL, action TEXT NOT NULL, family TEXT NOT NULL, detail TEXT NOT NULL,
  mac TEXT NOT NULL, format INTEGER NOT NULL DEFAULT 1, PRIMARY KEY(chain, idx)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS audit_chains(chain TEXT PRIMARY KEY, count INTEGER NOT NULL, head TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS audit_checkpoints(number INTEGER PRIMARY KEY, at INTEGER NOT NULL, document TEXT NOT NULL);
)SQL";

constexpr const char* kEventDomainV1 = "hearth-audit-event v1";
constexpr const char* kEventDomainV2 = "hearth-audit-event v2";
constexpr const char* kCheckpointDomain = "hearth-audit-checkpoint v1";
constexpr const char* kCheckpointFormat = "hearth-audit-checkpoint/1";

void put_u64(std::string& out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
}
void put_bytes(std::string& out, std::string_view bytes) {
  put_u64(out, bytes.size());
  out.append(bytes);
}
void put_i64(std::string& out, int64_t v) { put_u64(out, static_cast<uint64_t>(v)); }

// The bytes the MAC of event `index` of `chain` covers; `e.detail` as stored (sealed in format
// 2 for a family chain). nullopt for a format this server does not know.
std::optional<std::string> link_input(int64_t format, const std::string& chain, int64_t index,
                                      std::string_view prev_mac, const Event& e) {
  const char* domain = format == kFormatPlainDetail ? kEventDomainV1
                       : format == kFormatSealedDetail ? kEventDomainV2
                                                       : nullptr;
  if (!domain) return std::nullopt;
  std::string out;
  out.reserve(96 + chain.size() + prev_mac.size() + e.actor.size() + e.device.size() + e.action.size() +
              e.family.size() + e.detail.size());
  put_bytes(out, domain);
  put_bytes(out, chain);
  put_i64(out, index);
  put_bytes(out, prev_mac);
  put_i64(out, e.at);
  put_bytes(out, e.actor);
  put_bytes(out, e.device);
  put_bytes(out, e.action);
  put_bytes(out, e.family);
  put_bytes(out, e.detail);
  return out;
}

// Runs `body` inside a savepoint: nested in the caller's transaction when one is open, else
// its own transaction. `body` must write before it reads, so that outside a transaction the
// write lock is taken first (a read-then-write deferred transaction could fail to upgrade).
template <typename T, typename F>
Result<T> in_savepoint(Connection& db, const char* name, F body) {
  if (auto r = db.exec(std::string("SAVEPOINT ") + name); !r) return r.error();
  Result<T> out = body();
  if (!out) {
    (void)db.exec(std::string("ROLLBACK TO ") + name);
    (void)db.exec(std::string("RELEASE ") + name);
    return out;
  }
  if (auto r = db.exec(std::string("RELEASE ") + name); !r) {
    (void)db.exec(std::string("ROLLBACK TO ") + name);
    (void)db.exec(std::string("RELEASE ") + name);
    return r.error();
  }
  return out;
}

std::string range(int64_t from, int64_t to) {
  return from == to ? "event " + std::to_string(from) : "events " + std::to_string(from) + " to " + std::to_string(to);
}

// The old unkeyed trail's event text (for checking its SHA-256 chain while importing it).
std::string legacy_event_text(const Event& e) {
  JsonWriter w;
  w.begin_object();
  w.key("at").integer(e.at).key("actor").string(e.actor).key("device").string(e.device);
  w.key("action").string(e.action).key("family").string(e.family).key("detail").string(e.detail);
  w.end_object();
  return w.take();
}

}  // namespace

std::string chain_of(const std::string& family) { return family.empty() ? kServerChain : "family:" + family; }

bool is_server_chain(std::string_view chain) {
  const std::string_view prefix = kOwnChainPrefix;
  return chain == kServerChain || (chain.size() > prefix.size() && chain.substr(0, prefix.size()) == prefix);
}

bool belongs_in(std::string_view chain, const std::string& family) {
  return family.empty() ? is_server_chain(chain) : chain == chain_of(family);
}

const char* to_string(RoundOutcome outcome) {
  switch (outcome) {
    case RoundOutcome::made: return "made";
    case RoundOutcome::unchanged: return "unchanged";
    case RoundOutcome::recent: return "recent";
    case RoundOutcome::busy: return "busy";
  }
  return "?";
}

std::string detail_aad(const std::string& chain, int64_t index) {
  return "hearth-audit-detail|" + chain + "|" + std::to_string(index);
}

const char* to_string(Finding::Kind kind) {
  switch (kind) {
    case Finding::Kind::altered: return "altered";
    case Finding::Kind::rechained: return "re-chained";
    case Finding::Kind::deleted: return "deleted";
    case Finding::Kind::truncated: return "truncated";
    case Finding::Kind::head: return "head";
    case Finding::Kind::misfiled: return "misfiled";
    case Finding::Kind::checkpoint: return "checkpoint";
  }
  return "?";
}

// --- checkpoints ----------------------------------------------------------------------------

std::string Checkpoint::signed_bytes() const {
  std::string out;
  put_bytes(out, kCheckpointDomain);
  put_i64(out, number);
  put_i64(out, at);
  put_u64(out, chains.size());
  for (const auto& c : chains) {
    put_bytes(out, c.chain);
    put_i64(out, c.count);
    put_bytes(out, from_hex(c.head).value_or(c.head));
  }
  return out;
}

std::string Checkpoint::to_json() const {
  nlohmann::json chains_json = nlohmann::json::array();
  for (const auto& c : chains) chains_json.push_back({{"chain", c.chain}, {"count", c.count}, {"head", c.head}});
  nlohmann::json j = {{"format", kCheckpointFormat}, {"number", number},         {"at", at},
                      {"chains", chains_json},       {"public_key", public_key}, {"signature", signature}};
  return j.dump(2) + "\n";
}

Result<Checkpoint> Checkpoint::from_json(std::string_view text) {
  auto bad = [](const std::string& what) { return make_error(ErrorCode::corrupt, "audit checkpoint: " + what); };
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return bad("not a JSON object");
  if (j.value("format", "") != kCheckpointFormat) return bad("\"format\" is not \"" + std::string(kCheckpointFormat) + "\"");
  Checkpoint cp;
  if (!j.contains("number") || !j["number"].is_number_integer()) return bad("\"number\" must be an integer");
  if (!j.contains("at") || !j["at"].is_number_integer()) return bad("\"at\" must be an integer");
  if (!j.contains("chains") || !j["chains"].is_array()) return bad("\"chains\" must be an array");
  if (!j.contains("public_key") || !j["public_key"].is_string()) return bad("\"public_key\" must be a string");
  if (!j.contains("signature") || !j["signature"].is_string()) return bad("\"signature\" must be a string");
  cp.number = j["number"].get<int64_t>();
  cp.at = j["at"].get<int64_t>();
  cp.public_key = j["public_key"].get<std::string>();
  cp.signature = j["signature"].get<std::string>();
  for (const auto& c : j["chains"]) {
    if (!c.is_object() || !c.contains("chain") || !c["chain"].is_string() || !c.contains("count") ||
        !c["count"].is_number_integer() || !c.contains("head") || !c["head"].is_string())
      return bad("each chain needs \"chain\" (string), \"count\" (integer) and \"head\" (string)");
    cp.chains.push_back(ChainHead{c["chain"].get<std::string>(), c["count"].get<int64_t>(), c["head"].get<std::string>()});
  }
  return cp;
}

Result<void> write_checkpoint_file(const fs::path& file, const Checkpoint& cp) {
  std::error_code ec;
  if (file.has_parent_path()) fs::create_directories(file.parent_path(), ec);
  // A name of this process's own: servers may share the checkpoint folder.
  fs::path tmp = file;
  tmp += "." + std::to_string(::getpid()) + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << cp.to_json();
    out.flush();
    if (!out) return make_error(ErrorCode::storage, "cannot write the audit checkpoint " + tmp.string());
  }
  ::chmod(tmp.c_str(), 0644);
  fs::rename(tmp, file, ec);
  if (ec) return make_error(ErrorCode::storage, "cannot write the audit checkpoint " + file.string() + ": " + ec.message());
  return {};
}

Result<Checkpoint> read_checkpoint_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return make_error(ErrorCode::not_found, "cannot read the audit checkpoint " + file.string());
  std::stringstream ss;
  ss << in.rdbuf();
  auto cp = Checkpoint::from_json(ss.str());
  if (!cp) return make_error(ErrorCode::corrupt, file.string() + ": " + cp.error().message);
  return cp;
}

fs::path checkpoint_file_in(const fs::path& dir, const Checkpoint& cp) {
  std::string n = std::to_string(cp.number);
  return dir / ("checkpoint-" + std::string(n.size() < 6 ? 6 - n.size() : 0, '0') + n + ".json");
}

std::optional<int64_t> checkpoint_number_of(const fs::path& file) {
  const std::string name = file.filename().string();
  const std::string prefix = "checkpoint-", suffix = ".json";
  if (name.size() <= prefix.size() + suffix.size() || name.rfind(prefix, 0) != 0 ||
      name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
    return std::nullopt;
  const std::string digits = name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
  if (digits.size() > 18 || !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  return std::stoll(digits);
}

std::optional<fs::path> newest_checkpoint_file(const fs::path& dir) {
  // By the number in the name (checkpoint_file_in): no need to read every file.
  std::error_code ec;
  std::optional<fs::path> best;
  int64_t best_number = 0;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    auto number = checkpoint_number_of(it->path());
    if (!number) continue;
    if (!best || *number > best_number) {
      best = it->path();
      best_number = *number;
    }
  }
  return best;
}

// --- the trail ------------------------------------------------------------------------------

Result<std::unique_ptr<AuditTrail>> AuditTrail::open(Connection& db, AuditKey key, FamilySealer* sealer) {
  if (auto r = db.exec(sql::schema_for(db.dialect(), kTables)); !r) return r.error();
  // PostgreSQL's trail was made with today's layout: nothing older to bring up to date.
  if (db.dialect() != sql::Dialect::sqlite) return std::make_unique<AuditTrail>(db, std::move(key), sealer);
  // A trail from before the format column: its events are format 1 (the default).
  Result<bool> found = false;
  {  // the statement is finished before the schema changes
    auto has_format = db.prepare("SELECT 1 FROM pragma_table_info('audit_events') WHERE name = 'format'");
    if (!has_format) return has_format.error();
    found = has_format->step();
  }
  if (!found) return found.error();
  if (!*found)
    if (auto r = db.exec("ALTER TABLE audit_events ADD COLUMN format INTEGER NOT NULL DEFAULT 1"); !r) return r.error();
  auto trail = std::make_unique<AuditTrail>(db, std::move(key), sealer);
  if (auto r = trail->migrate_legacy(); !r) return r.error();
  return trail;
}

Result<bool> AuditTrail::holds_keyed_trail(Connection& db) {
  for (const char* table : {"audit_events", "audit_chains", "audit_checkpoints"}) {
    auto known = db.prepare(db.dialect() == sql::Dialect::sqlite
                                ? "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
                                : "SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() "
                                  "AND table_name = ?");
    if (!known) return known.error();
    known->bind(1, table);
    auto row = known->step();
    if (!row) return row.error();
    if (!*row) continue;
    auto any = db.prepare(std::string("SELECT 1 FROM ") + table + " LIMIT 1");
    if (!any) return any.error();
    auto has = any->step();
    if (!has) return has.error();
    if (*has) return true;
  }
  return false;
}

Result<void> AuditTrail::migrate_legacy() {
  auto table_exists = [&](const std::string& name) -> Result<bool> {
    auto st = db_.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?");
    if (!st) return st.error();
    st->bind(1, name);
    return st->step();
  };
  auto legacy = table_exists("audit");
  if (!legacy) return legacy.error();
  if (!*legacy) return {};
  return in_savepoint<void>(db_, "audit_upgrade", [&]() -> Result<void> {
    // The rename is the write that comes first; the table gets its final name at the end.
    if (auto r = db_.exec("ALTER TABLE audit RENAME TO audit_legacy_import"); !r) return r;
    auto st = db_.prepare(
        "SELECT seq, at, actor, device, action, family, detail, hash FROM audit_legacy_import ORDER BY seq");
    if (!st) return st.error();
    std::string prev(64, '0');
    int64_t imported = 0, first_mismatch = 0, last_at = 0;
    auto done = st->each([&](Statement& r) -> Result<void> {
      Event e{r.integer(1), r.text(2), r.text(3), r.text(4), r.text(5), r.text(6)};
      std::string expected = platform::sha256_hex(prev + legacy_event_text(e));
      if (first_mismatch == 0 && expected != r.text(7)) first_mismatch = r.integer(0);
      prev = r.text(7);
      last_at = std::max(last_at, e.at);
      ++imported;
      return append(e);
    });
    if (!done) return done;
    if (imported == 0) return db_.exec("DROP TABLE audit_legacy_import");  // nothing to keep
    std::string kept = "audit_legacy_sha256";
    for (int n = 2;; ++n) {
      auto taken = table_exists(kept);
      if (!taken) return taken.error();
      if (!*taken) break;
      kept = "audit_legacy_sha256_" + std::to_string(n);
    }
    if (auto r = db_.exec("ALTER TABLE audit_legacy_import RENAME TO " + kept); !r) return r;
    std::string check = first_mismatch == 0 ? "its SHA-256 chain checked out"
                                            : "its SHA-256 chain did not check out from event " +
                                                  std::to_string(first_mismatch);
    return append(Event{last_at, "server", "", "audit-upgrade", "",
                        "imported " + std::to_string(imported) + " events of the unkeyed trail (last hash " + prev +
                            "); " + check + "; kept as table " + kept});
  });
}

namespace {

// The savepoint of append, with its statements prepared once: a push appends one event per
// family it touched, so this is on the push's hot path.
template <typename F>
Result<void> in_append_savepoint(Connection& db, F body) {
  auto run = [&](const char* sql) -> Result<void> {
    auto st = db.cached(sql);
    if (!st) return st.error();
    return (*st)->run();
  };
  if (auto r = run("SAVEPOINT audit_append"); !r) return r;
  Result<void> out = body();
  if (out) out = run("RELEASE audit_append");
  if (!out) {
    (void)run("ROLLBACK TO audit_append");
    (void)run("RELEASE audit_append");
  }
  return out;
}

}  // namespace

Result<void> AuditTrail::append(const Event& e) {
  auto index = append_to(e.family.empty() ? own_chain_ : chain_of(e.family), e);
  if (!index) return index.error();
  return {};
}

Result<std::string> AuditTrail::use_own_chain(const std::string& name, int64_t at, const std::string& about) {
  const bool well_formed =
      !name.empty() && name.size() <= 100 && std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               std::string_view("-_.:/").find(c) != std::string_view::npos;
      });
  if (!well_formed)
    return make_error(ErrorCode::invalid_argument, "the name of a server's own audit chain must be 1 to 100 letters, "
                                                   "digits or -_.:/, not '" + name + "'");
  const std::string chain = kOwnChainPrefix + name;
  auto opened = in_savepoint<std::string>(db_, "audit_own_chain", [&]() -> Result<std::string> {
    // The registration first: verification learns of every chain from `server`.
    auto registered = append_to(kServerChain, Event{at, "server", "", kChainOpenedAction, "", chain});
    if (!registered) return registered.error();
    auto first = append_to(chain, Event{at, "server", "", kChainOpenedAction, "",
                                        "registered as server event " + std::to_string(*registered) +
                                            (about.empty() ? "" : "; " + about)});
    if (!first) return first.error();
    return chain;
  });
  if (opened) own_chain_ = chain;  // only once the registration is stored
  return opened;
}

Result<int64_t> AuditTrail::append_to(const std::string& chain, const Event& e) {
  int64_t appended = 0;
  auto done = in_append_savepoint(db_, [&]() -> Result<void> {
    auto made = db_.cached("INSERT INTO audit_chains(chain, count, head) VALUES(?, 0, '') ON CONFLICT(chain) DO NOTHING");
    if (!made) return made.error();
    (*made)->bind(1, chain);
    if (auto r = (*made)->run(); !r) return r;

    // Locked until the transaction ends where several servers share the database, so two never
    // extend a chain from the same head.
    auto head = db_.dialect() == sql::Dialect::postgres
                    ? db_.cached("SELECT count, head FROM audit_chains WHERE chain = ? FOR UPDATE")
                    : db_.cached("SELECT count, head FROM audit_chains WHERE chain = ?");
    if (!head) return head.error();
    (*head)->bind(1, chain);
    auto row = (*head)->step();
    if (!row) return row.error();
    int64_t count = (*head)->integer(0);
    auto prev = from_hex((*head)->text(1));
    (*head)->reset();
    if (!prev || (count == 0) != prev->empty())
      return make_error(ErrorCode::corrupt, "the head of audit chain " + chain +
                                                " is damaged; run `hearth-server verify-audit` (docs/audit.md)");

    const int64_t index = count + 1;
    // The detail as stored: a family's sealed under its key, bound to this event's place.
    Event stored = e;
    const bool sealed = !e.family.empty() && sealer_->enabled();
    if (sealed) {
      auto s = sealer_->seal(e.family, e.detail, detail_aad(chain, index));
      if (s) stored.detail = std::move(*s);
      else if (s.error().code == ErrorCode::forbidden) stored.detail.clear();  // erased: nothing to seal under
      else return s.error();
    }
    const int64_t format = sealed ? kFormatSealedDetail : kFormatPlainDetail;
    auto input = link_input(format, chain, index, *prev, stored);
    auto mac = key_.mac(*input);
    if (!mac) return mac.error();
    const std::string mac_hex = to_hex(*mac);

    auto ins = db_.cached(
        "INSERT INTO audit_events(chain, idx, at, actor, device, action, family, detail, mac, format) "
        "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    if (!ins) return ins.error();
    (*ins)->bind(1, chain).bind(2, index).bind(3, e.at).bind(4, e.actor).bind(5, e.device).bind(6, e.action);
    (*ins)->bind(7, e.family).bind(9, mac_hex).bind(10, format);
    if (sealed) (*ins)->bind_blob(8, stored.detail);
    else (*ins)->bind(8, stored.detail);
    if (auto r = (*ins)->run(); !r) return r;

    auto upd = db_.cached("UPDATE audit_chains SET count = ?, head = ? WHERE chain = ?");
    if (!upd) return upd.error();
    (*upd)->bind(1, index).bind(2, mac_hex).bind(3, chain);
    if (auto r = (*upd)->run(); !r) return r;
    appended = index;
    return {};
  });
  if (!done) return done.error();
  return appended;
}

Result<std::vector<ChainHead>> AuditTrail::heads() {
  std::vector<ChainHead> out;
  auto st = db_.prepare("SELECT chain, count, head FROM audit_chains WHERE count > 0 ORDER BY chain");
  if (!st) return st.error();
  auto done = st->each([&](Statement& r) { out.push_back(ChainHead{r.text(0), r.integer(1), r.text(2)}); });
  if (!done) return done.error();
  return out;
}

Result<bool> AuditTrail::lock_checkpoints(bool wait) {
  if (db_.dialect() != sql::Dialect::postgres) return true;
  auto st = db_.prepare(wait ? "SELECT 1 FROM (SELECT pg_advisory_xact_lock(?)) AS locked"
                             : "SELECT CASE WHEN pg_try_advisory_xact_lock(?) THEN 1 ELSE 0 END");
  if (!st) return st.error();
  st->bind(1, kCheckpointLock);
  auto row = st->step();
  if (!row) return row.error();
  return *row && st->integer(0) == 1;
}

Result<Checkpoint> AuditTrail::checkpoint(int64_t now) {
  return in_savepoint<Checkpoint>(db_, "audit_checkpoint_locked", [&]() -> Result<Checkpoint> {
    if (auto locked = lock_checkpoints(true); !locked) return locked.error();
    return make_checkpoint(now);
  });
}

Result<CheckpointRound> AuditTrail::round_due(int64_t now, const RoundRules& rules) {
  CheckpointRound out;
  auto changed = changed_since_checkpoint();
  if (!changed) return changed.error();
  if (!*changed) return out;  // unchanged
  if (rules.not_within_ms > 0) {
    auto st = db_.prepare("SELECT at FROM audit_checkpoints ORDER BY number DESC LIMIT 1");
    if (!st) return st.error();
    auto row = st->step();
    if (!row) return row.error();
    if (*row && st->integer(0) > now - rules.not_within_ms) {
      out.outcome = RoundOutcome::recent;
      out.newest_at = st->integer(0);
      return out;
    }
  }
  out.outcome = RoundOutcome::made;
  return out;
}

Result<CheckpointRound> AuditTrail::checkpoint_round(int64_t now, const RoundRules& rules) {
  auto make = [&]() -> Result<CheckpointRound> {
    auto due = round_due(now, rules);
    if (!due || due->outcome != RoundOutcome::made) return due;
    auto cp = make_checkpoint(now);
    if (!cp) return cp.error();
    due->made = std::move(*cp);
    return due;
  };
  // SQLite: one server a database (serve.lock), and make_checkpoint writes before it reads;
  // the decision is read first, outside its transaction (a read that became a write could fail
  // to upgrade while the server appends).
  if (db_.dialect() != sql::Dialect::postgres) return make();
  // PostgreSQL: the lock before anything is read, so the decision sees the checkpoint another
  // server made just before (READ COMMITTED: each statement reads what is committed).
  return in_savepoint<CheckpointRound>(db_, "audit_checkpoint_round", [&]() -> Result<CheckpointRound> {
    auto locked = lock_checkpoints(rules.wait);
    if (!locked) return locked.error();
    if (!*locked) return CheckpointRound{RoundOutcome::busy, std::nullopt, 0};
    return make();
  });
}

Result<Checkpoint> AuditTrail::make_checkpoint(int64_t now) {
  return in_savepoint<Checkpoint>(db_, "audit_checkpoint", [&]() -> Result<Checkpoint> {
    // The placeholder row is the write that comes first; it takes the checkpoint's number.
    if (auto r = db_.exec("INSERT INTO audit_checkpoints(number, at, document) "
                          "SELECT coalesce(max(number), 0) + 1, 0, '' FROM audit_checkpoints");
        !r)
      return r.error();
    auto num = db_.prepare("SELECT max(number) FROM audit_checkpoints");
    if (!num) return num.error();
    if (auto row = num->step(); !row) return row.error();
    Checkpoint cp;
    cp.number = num->integer(0);
    cp.at = now;
    auto hs = heads();
    if (!hs) return hs.error();
    cp.chains = std::move(*hs);
    cp.public_key = to_hex(key_.public_key());
    auto sig = key_.sign(cp.signed_bytes());
    if (!sig) return sig.error();
    cp.signature = to_hex(*sig);
    auto st = db_.prepare("UPDATE audit_checkpoints SET at = ?, document = ? WHERE number = ?");
    if (!st) return st.error();
    st->bind(1, cp.at).bind(2, cp.to_json()).bind(3, cp.number);
    if (auto r = st->run(); !r) return r.error();
    return cp;
  });
}

Result<std::optional<Checkpoint>> AuditTrail::latest_checkpoint() {
  auto st = db_.prepare("SELECT document FROM audit_checkpoints ORDER BY number DESC LIMIT 1");
  if (!st) return st.error();
  auto row = st->step();
  if (!row) return row.error();
  if (!*row) return std::optional<Checkpoint>();
  auto cp = Checkpoint::from_json(st->text(0));
  if (!cp) return cp.error();
  return std::optional<Checkpoint>(std::move(*cp));
}

Result<bool> AuditTrail::changed_since_checkpoint() {
  auto hs = heads();
  if (!hs) return hs.error();
  auto latest = latest_checkpoint();
  if (!latest) return true;  // an unreadable checkpoint: make a new one
  if (!*latest) return !hs->empty();
  if ((*latest)->chains.size() != hs->size()) return true;
  for (size_t i = 0; i < hs->size(); ++i) {
    const auto& a = (*hs)[i];
    const auto& b = (*latest)->chains[i];
    if (a.chain != b.chain || a.count != b.count || a.head != b.head) return true;
  }
  return false;
}

// --- verification ---------------------------------------------------------------------------

namespace {

// A point a checkpoint fixes: event `index` of a chain must carry MAC `head`.
struct Anchor {
  int64_t index;
  std::string head;
  int64_t checkpoint;
  bool exported;
};

std::string checkpoint_name(const Anchor& a) {
  return (a.exported ? "the exported checkpoint " : "checkpoint ") + std::to_string(a.checkpoint);
}

}  // namespace

Result<VerifyReport> AuditTrail::verify(const std::vector<Checkpoint>& exported) {
  // One read transaction: heads, checkpoints and events from the same snapshot, while the
  // running servers may be appending. SQLite's transaction is one snapshot; PostgreSQL's
  // default (READ COMMITTED) takes one per statement, so the heads read first would lag the
  // events read after them: REPEATABLE READ, set before the first statement.
  if (db_.dialect() != sql::Dialect::postgres)
    return in_savepoint<VerifyReport>(db_, "audit_verify", [&] { return verify_snapshot(exported); });
  sql::Transaction tx(db_);
  if (auto r = tx.begin(); !r) return r.error();
  if (auto r = db_.exec("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"); !r) return r.error();
  auto report = verify_snapshot(exported);
  if (!report) return report;
  if (auto r = tx.commit(); !r) return r.error();
  return report;
}

Result<VerifyReport> AuditTrail::verify_snapshot(const std::vector<Checkpoint>& exported) {
  VerifyReport report;
  auto found = [&](Finding::Kind kind, const std::string& chain, std::string message) {
    report.findings.push_back(Finding{kind, chain, std::move(message)});
  };
  const std::string our_key = to_hex(key_.public_key());
  auto signature_ok = [&](const Checkpoint& cp) {
    auto sig = from_hex(cp.signature);
    return cp.public_key == our_key && sig && verify_signature(key_.public_key(), cp.signed_bytes(), *sig);
  };

  // 1. Checkpoints in the database: numbered 1..n without gaps, each signed by this server.
  std::map<int64_t, Checkpoint> stored;
  {
    auto st = db_.prepare("SELECT number, document FROM audit_checkpoints ORDER BY number");
    if (!st) return st.error();
    int64_t expected = 1;
    auto done = st->each([&](Statement& r) {
      int64_t number = r.integer(0);
      if (number > expected)
        found(Finding::Kind::checkpoint, "",
              "in-database " + std::string(number - expected == 1 ? "checkpoint " : "checkpoints ") +
                  std::to_string(expected) + (number - expected == 1 ? "" : " to " + std::to_string(number - 1)) +
                  " missing (deleted)");
      expected = number + 1;
      report.latest_checkpoint = number;
      auto cp = Checkpoint::from_json(r.text(1));
      if (!cp || cp->number != number) {
        found(Finding::Kind::checkpoint, "", "in-database checkpoint " + std::to_string(number) + " is malformed");
      } else if (!signature_ok(*cp)) {
        found(Finding::Kind::checkpoint, "",
              "in-database checkpoint " + std::to_string(number) + " is not signed by this server's checkpoint key");
      } else {
        ++report.checkpoints;
        stored.emplace(number, std::move(*cp));
      }
    });
    if (!done) return done.error();
  }

  // 2. Exported checkpoints: signed by this server, and still present in the database as made.
  std::map<std::string, std::vector<Anchor>> anchors;  // by chain
  for (const auto& [number, cp] : stored)
    for (const auto& c : cp.chains) anchors[c.chain].push_back(Anchor{c.count, c.head, number, false});
  for (const auto& cp : exported) {
    report.exported.push_back(cp.number);
    if (!signature_ok(cp)) {
      found(Finding::Kind::checkpoint, "",
            "the exported checkpoint " + std::to_string(cp.number) + " is not signed by this server's checkpoint key");
      continue;
    }
    if (cp.number > report.latest_checkpoint) {
      found(Finding::Kind::checkpoint, "",
            "the exported checkpoint " + std::to_string(cp.number) + " is newer than any in the database (" +
                (report.latest_checkpoint == 0 ? std::string("none") : "newest " + std::to_string(report.latest_checkpoint)) +
                "): in-database checkpoints were deleted");
    } else if (auto it = stored.find(cp.number); it != stored.end() && it->second.signed_bytes() != cp.signed_bytes()) {
      found(Finding::Kind::checkpoint, "",
            "in-database checkpoint " + std::to_string(cp.number) + " differs from its exported copy");
    }
    for (const auto& c : cp.chains) anchors[c.chain].push_back(Anchor{c.count, c.head, cp.number, true});
  }
  for (auto& [chain, list] : anchors)
    std::sort(list.begin(), list.end(), [](const Anchor& a, const Anchor& b) { return a.index < b.index; });

  // 3. Chain heads.
  std::map<std::string, ChainHead> heads_by_chain;
  {
    auto st = db_.prepare("SELECT chain, count, head FROM audit_chains");
    if (!st) return st.error();
    auto done = st->each([&](Statement& r) { heads_by_chain[r.text(0)] = ChainHead{r.text(0), r.integer(1), r.text(2)}; });
    if (!done) return done.error();
  }

  // 4. Every chain, event by event, in one pass over audit_events ordered by (chain, idx).
  std::set<std::string> seen;
  std::map<std::string, int64_t> registered;  // a server chain of its own -> the `server` event registering it
  struct ChainWalk {
    std::string chain;
    int64_t expected = 1;     // the next index
    int64_t last = 0;         // index of the last event read
    std::string last_mac;     // hex, as stored
    std::string prev;         // raw MAC of the previous event, as stored
    bool prev_known = true;   // false right after a gap: the next link cannot be checked
    int64_t run_from = 0;     // a run of events that fail their MAC, [run_from, run_to]
    int64_t run_to = 0;
    size_t anchor = 0;        // next checkpoint anchor of this chain to check
    bool db_anchor_reported = false;
    int64_t events = 0;       // events read
  } w;

  auto close_run = [&](bool at_end) {
    if (w.run_from == 0) return;
    if (w.run_from == w.run_to)
      found(Finding::Kind::altered, w.chain,
            w.chain + ": event " + std::to_string(w.run_from) + " does not match its MAC: it was altered" +
                (at_end ? " (or it was added without the audit key)" : ""));
    else
      found(Finding::Kind::rechained, w.chain,
            w.chain + ": " + range(w.run_from, w.run_to) +
                " do not verify under the audit key: the chain was recomputed without the key (re-chained) or "
                "these events were altered");
    w.run_from = w.run_to = 0;
  };
  auto check_anchors = [&](int64_t index, const std::string& mac_hex) {
    const auto it = anchors.find(w.chain);
    if (it == anchors.end()) return;
    const auto& list = it->second;
    while (w.anchor < list.size() && list[w.anchor].index <= index) {
      const Anchor& a = list[w.anchor++];
      if (a.index != index || a.head == mac_hex) continue;
      if (!a.exported && w.db_anchor_reported) continue;  // the earliest disagreeing checkpoint says it
      if (!a.exported) w.db_anchor_reported = true;
      found(Finding::Kind::rechained, w.chain,
            w.chain + ": event " + std::to_string(index) + " is not the one " + checkpoint_name(a) +
                " recorded: the chain was rewritten (re-chained) after that checkpoint");
    }
  };
  auto finish_chain = [&]() {
    if (w.chain.empty()) return;
    close_run(true);
    // what checkpoints recorded beyond the last event: a deleted tail
    if (auto it = anchors.find(w.chain); it != anchors.end()) {
      int64_t most = 0;
      std::string by;
      for (size_t i = w.anchor; i < it->second.size(); ++i)
        if (it->second[i].index > w.last && it->second[i].index > most) {
          most = it->second[i].index;
          by = checkpoint_name(it->second[i]);
        }
      if (most > 0)
        found(Finding::Kind::truncated, w.chain,
              w.chain + ": " + by + " recorded " + std::to_string(most) + " events but the chain ends at event " +
                  std::to_string(w.last) + ": " + range(w.last + 1, most) + " were deleted");
    }
    auto h = heads_by_chain.find(w.chain);
    if (h == heads_by_chain.end()) {
      found(Finding::Kind::head, w.chain, w.chain + ": the chain has events but no head record (it was deleted)");
    } else if (h->second.count > w.last) {
      found(Finding::Kind::truncated, w.chain,
            w.chain + ": its head records " + std::to_string(h->second.count) + " events but the chain ends at event " +
                std::to_string(w.last) + ": " + range(w.last + 1, h->second.count) + " were deleted");
    } else if (h->second.count < w.last) {
      found(Finding::Kind::head, w.chain,
            w.chain + ": its head records " + std::to_string(h->second.count) + " events but the chain holds " +
                std::to_string(w.last) + ": the head was rolled back, or events were added outside the server");
    } else if (h->second.head != w.last_mac) {
      found(Finding::Kind::head, w.chain,
            w.chain + ": its head MAC is not the MAC of its last event " + std::to_string(w.last));
    }
    if (is_server_chain(w.chain)) report.server_chains.push_back(ServerChain{w.chain, w.events, 0});
    seen.insert(w.chain);
  };

  auto st = db_.prepare(
      "SELECT chain, idx, at, actor, device, action, family, detail, mac, format FROM audit_events ORDER BY chain, idx");
  if (!st) return st.error();
  auto done = st->each([&](Statement& r) -> Result<void> {
    std::string chain = r.text(0);
    if (chain != w.chain) {
      finish_chain();
      w = ChainWalk{};
      w.chain = chain;
    }
    ++report.events;
    ++w.events;
    const int64_t index = r.integer(1);
    Event e{r.integer(2), r.text(3), r.text(4), r.text(5), r.text(6), r.blob(7)};
    const std::string mac_hex = r.text(8);
    const int64_t format = r.integer(9);
    if (!belongs_in(chain, e.family))
      found(Finding::Kind::misfiled, chain,
            chain + ": event " + std::to_string(index) + " belongs to chain " + chain_of(e.family));
    // The registrations of the server chains of their own (use_own_chain): the first names
    // when a chain was registered.
    if (chain == kServerChain && e.action == kChainOpenedAction && e.family.empty() &&
        e.detail.rfind(kOwnChainPrefix, 0) == 0)
      registered.emplace(e.detail, index);
    if (index < w.expected) {  // only an index below 1 can get here: the key is (chain, idx)
      found(Finding::Kind::altered, chain, chain + ": an event has index " + std::to_string(index) + ", below 1");
      return {};
    }
    if (index > w.expected) {
      close_run(false);
      found(Finding::Kind::deleted, chain, chain + ": " + range(w.expected, index - 1) + " are missing (deleted)");
      w.prev_known = false;
    }
    auto stored_mac = from_hex(mac_hex);
    auto input = link_input(format, chain, index, w.prev, e);
    if (!input) {  // nothing this server wrote: an altered format
      close_run(false);
      found(Finding::Kind::altered, chain,
            chain + ": event " + std::to_string(index) + " has format " + std::to_string(format) +
                ", which no server writes: it was altered");
    } else if (w.prev_known) {
      auto mac = key_.mac(*input);
      if (!mac) return mac.error();
      if (!stored_mac || *mac != *stored_mac) {
        if (w.run_from == 0) w.run_from = index;
        w.run_to = index;
      } else {
        close_run(false);
      }
    } else {
      close_run(false);  // the link over a gap cannot be checked; the gap is reported
    }
    check_anchors(index, mac_hex);
    w.prev = stored_mac.value_or("");
    w.prev_known = stored_mac.has_value();
    w.expected = index + 1;
    w.last = index;
    w.last_mac = mac_hex;
    return {};
  });
  if (!done) return done.error();
  finish_chain();

  // 5. Chains that heads, checkpoints or a registration know of, with no event left at all.
  std::set<std::string> known;
  for (const auto& [chain, h] : heads_by_chain)
    if (h.count > 0) known.insert(chain);
  for (const auto& [chain, list] : anchors)
    if (!list.empty()) known.insert(chain);
  for (const auto& [chain, index] : registered)
    if (!seen.count(chain) && !known.count(chain)) {  // else its head or a checkpoint says more, below
      seen.insert(chain);
      found(Finding::Kind::truncated, chain,
            chain + ": registered by server event " + std::to_string(index) +
                ", but none of its events remain: the chain was deleted");
    }
  for (auto& sc : report.server_chains) {
    if (sc.chain == kServerChain) continue;
    if (auto it = registered.find(sc.chain); it != registered.end()) {
      sc.registered = it->second;
    } else {
      found(Finding::Kind::deleted, sc.chain,
            sc.chain + ": no event of chain server registers this chain: its registration was deleted (or the "
                       "chain was made outside the server)");
    }
  }
  for (const auto& chain : known) {
    if (seen.count(chain)) continue;
    seen.insert(chain);
    int64_t most = 0;
    std::string by;
    if (auto h = heads_by_chain.find(chain); h != heads_by_chain.end() && h->second.count > 0) {
      most = h->second.count;
      by = "its head";
    }
    if (auto a = anchors.find(chain); a != anchors.end())
      for (const auto& anchor : a->second)
        if (anchor.index > most) {
          most = anchor.index;
          by = checkpoint_name(anchor);
        }
    if (most > 0)
      found(Finding::Kind::truncated, chain,
            chain + ": " + by + " recorded " + std::to_string(most) + " events and none remain: " + range(1, most) +
                " were deleted");
  }
  report.chains = static_cast<int64_t>(seen.size());
  return report;
}

// --- the IG officer's query -----------------------------------------------------------------

Result<void> AuditTrail::query(const AuditQuery& q, const std::function<Result<void>(const ListedEvent&)>& on_event) {
  // One read transaction: the events and the MACs they are checked against from one snapshot.
  return in_savepoint<void>(db_, "audit_query", [&]() -> Result<void> {
    std::string sql =
        "SELECT chain, idx, at, actor, device, action, family, detail, mac, format FROM audit_events WHERE at >= ? AND "
        "at <= ?";
    if (!q.family.empty()) sql += " AND chain = ?";  // the family's chain alone: the primary key's prefix
    if (!q.actor.empty()) sql += " AND actor = ?";
    sql += " ORDER BY chain, idx";
    auto st = db_.prepare(sql);
    if (!st) return st.error();
    st->bind(1, q.from);
    st->bind(2, q.to);
    int param = 3;
    if (!q.family.empty()) st->bind(param++, chain_of(q.family));
    if (!q.actor.empty()) st->bind(param, q.actor);
    auto prev_of = db_.prepare("SELECT mac FROM audit_events WHERE chain = ? AND idx = ?");
    if (!prev_of) return prev_of.error();
    return st->each([&](Statement& r) -> Result<void> {
      ListedEvent out;
      out.chain = r.text(0);
      out.index = r.integer(1);
      out.event = Event{r.integer(2), r.text(3), r.text(4), r.text(5), r.text(6), r.blob(7)};
      const std::string mac_hex = r.text(8);
      out.format = r.integer(9);
      const std::string name = out.chain + " event " + std::to_string(out.index);
      auto tampered = [&](std::string what) {
        out.detail = ListedEvent::Detail::tampered;
        out.problem = name + ": " + std::move(what) + "; run `hearth-server verify-audit`";
        out.event.detail.clear();
      };
      // The event's MAC, linked to the one before it (when that one is still there).
      std::optional<std::string> prev = std::string();
      if (out.index > 1) {
        prev_of->reset();
        prev_of->bind(1, out.chain).bind(2, out.index - 1);
        auto row = prev_of->step();
        if (!row) return row.error();
        prev = *row ? from_hex(prev_of->text(0)) : std::nullopt;
      }
      auto input = link_input(out.format, out.chain, out.index, prev.value_or(""), out.event);
      auto stored_mac = from_hex(mac_hex);
      if (!belongs_in(out.chain, out.event.family)) {
        tampered("it names family '" + out.event.family + "', not its chain's");
      } else if (!input) {
        tampered("its format " + std::to_string(out.format) + " is not one this server writes (altered)");
      } else if (!prev) {  // without it, this event's MAC cannot be checked: never shown as sound
        tampered("the event before it (number " + std::to_string(out.index - 1) + ") is missing (deleted)");
      } else {
        auto mac = key_.mac(*input);
        if (!mac) return mac.error();
        if (!stored_mac || *mac != *stored_mac) tampered("it does not match its MAC (altered)");
      }
      // A sealed detail is opened (with encryption off, PlainSealer hands the sealed bytes back:
      // the command prints them as not opened).
      if (out.detail == ListedEvent::Detail::open && out.format == kFormatSealedDetail && !out.event.family.empty()) {
        auto opened = sealer_->open(out.event.family, out.event.detail, detail_aad(out.chain, out.index));
        if (opened) {
          out.event.detail = std::move(*opened);
        } else if (opened.error().code == ErrorCode::not_found) {
          out.detail = ListedEvent::Detail::erased;
          out.event.detail.clear();
        } else {
          tampered("its sealed detail does not open (" + opened.error().message + ")");
        }
      }
      return on_event(out);
    });
  });
}

// --- on its own connection ------------------------------------------------------------------

Result<TrailFile> open_trail_file(const std::string& db_path, AuditKey key, FamilySealer* sealer) {
  auto db = sql::is_postgres_uri(db_path) ? sql::open_postgres(db_path) : sql::open_sqlite(db_path);
  if (!db) return db.error();
  TrailFile f;
  f.db = std::move(*db);
  if (f.db->dialect() == sql::Dialect::sqlite)
    if (auto r = f.db->exec("PRAGMA journal_mode=WAL"); !r) return r.error();
  auto trail = AuditTrail::open(*f.db, std::move(key), sealer);
  if (!trail) return trail.error();
  f.trail = std::move(*trail);
  return f;
}

Result<bool> file_holds_keyed_trail(const std::string& db_path) {
  std::error_code ec;
  if (!fs::exists(db_path, ec)) return false;
  auto db = sql::open_sqlite(db_path);
  if (!db) return db.error();
  return AuditTrail::holds_keyed_trail(**db);
}

}  // namespace hearth::server::audit
