#pragma once
// The tablet's local store, as the app sees it: edits, reads, history, conflicts, status, keys
// and purge. One SQLite database (WAL) holds the op log, the materialised state, the outbox of
// unsynced operations and the open conflicts. Each local edit is one transaction (op + state +
// outbox). The sync engine's bookkeeping (outbox, cursors, pages, quarantine marks, clock
// correction, secrets) is not here: it is behind an internal port (client/src/sync_port.hpp).
//
// Errors are values (Result) with messages that name the record, the field and the rule. No
// exception leaves a call of this header: an unexpected one (out of memory, a library fault)
// becomes ErrorCode::storage with a message naming the call.
//
// Threading model (docs/store.md): several Stores on one file, each confined to one thread.
// A Store is not safe to share between threads; a thread that needs the store (a sync worker,
// the UI) opens its own Store on the same file. SQLite (WAL) serialises the writers and lets
// readers run beside them. Anything a Store keeps in memory (merged families, family keys,
// the clock) is a cache of the file: each public call, and each write transaction once it
// holds the write lock, compares PRAGMA data_version with the value the cache was built at
// and drops the cache when another connection has committed. Counters (op ids) are taken from
// the database inside the writing transaction, never from memory. Later caches and change
// listeners follow the same rule: the file is the truth, data_version says when to re-read it.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hearth/core/duplicates.hpp"
#include "hearth/core/error.hpp"
#include "hearth/core/schema.hpp"
#include "hearth/core/validation.hpp"
#include "hearth/platform/crypto.hpp"
#include "hearth/core/value.hpp"
#include "hearth/sync/conflict.hpp"
#include "hearth/sync/hlc.hpp"

namespace hearth::client {

// scrypt cost of the PIN key derivation; stored with the store and upgraded on unlock.
using KdfParams = platform::ScryptParams;

struct StoreOptions {
  std::string practitioner_id;   // author of every edit; saved in a new store, checked after
                                 // (may be left empty to open an existing store as its owner)
  // Encryption at rest (docs/encryption.md). A new store needs a PIN or a keystore key;
  // an existing one is unlocked with the same.
  std::optional<std::string> pin;
  std::optional<std::string> keystore_key;  // 32 bytes from iOS Keychain / Android Keystore
  KdfParams kdf;
  int max_pin_attempts = 10;  // then the store wipes itself (and says what was on no server)
  bool encrypted = true;      // false only for benchmarks and development
  size_t cache_mib = 16;      // SQLite page cache
  // Defaults to the system clock. Also the clock of offline enforcement (DOMAIN.md §6.8): the
  // age of the last policy snapshot is measured on it (corrected by the server's offset).
  sync::PhysicalClock clock;
  const Schema* schema = nullptr;  // defaults to Schema::v1()
  // Caps the database size in SQLite pages (0: no cap). A write that would pass it fails
  // like a full disk does, with nothing accepted lost.
  int64_t max_pages = 0;
  // The view log (DOMAIN.md §9.1 VIEW): reads of T2/T3 records kept, sealed, until a sync
  // uploads them. Past this many the oldest are dropped and counted, and the count is uploaded.
  size_t view_log_limit = 5000;
};

struct EntityView {
  std::string id;
  std::string type;
  std::string family;
  bool deleted = false;
  std::string json;      // canonical state (see docs/change-log.md, "Rendering")
  std::string occurred;  // for dated records (chronology order)
};

struct FamilyView {
  std::string family;
  std::vector<EntityView> entities;    // by id
  std::vector<EntityView> chronology;  // contacts and other dated records, by occurred_at
  std::vector<sync::Conflict> conflicts;
};

// One value a field held: an entry of the field's history (DOMAIN.md §8.2: the value that lost
// a last-writer-wins merge is kept in the field's history, beside the winner).
struct FieldWrite {
  std::string op_id;   // "device:counter" of the op that wrote it
  std::string author;  // practitioner id
  uint64_t at_ms = 0;  // the op's hybrid-clock stamp: wall time in ms since the Unix epoch
  uint32_t logical = 0;  // and its logical part (orders writes within one millisecond)
  Value value;
};

// An op of this device that the server refused. It stays in the op log, sealed under its
// family's key, and in the local view; it is reported to the server so the lead professional
// sees that it exists, and its family is purged only after the server acknowledged the report
// (DOMAIN.md §6.6: recording is not sharing; nothing a practitioner recorded is lost).
struct QuarantinedOp {
  std::string op_id;     // "device:counter"
  std::string family;
  std::string reason;    // the server's words
  int64_t at_ms = 0;     // when the refusal arrived (device clock)
  bool reported = false;      // the sync engine sent the report
  bool acknowledged = false;  // the server confirmed it holds the report
};

// An op of this device the server kept but did not apply: it goes beyond the rights its
// author held (DOMAIN.md §7; issue 8 part 3) and waits for the person named in route_to. The
// server has it (it left the outbox); it stays in the op log, sealed, and is never lost, but it
// is not part of the local view: the record shows what the server holds, and the held edit is
// listed here as "held for <route_to>: <reason>". Once decided at the server the entry says so:
// applied (the decider's own op carrying the value arrives by pull and the record shows it) or
// dismissed (with who and why; the record keeps the value it had).
struct HeldOp {
  std::string op_id;     // "device:counter"
  std::string family;
  std::string reason;    // the server's words
  std::string route_to;  // who decides (a practitioner id), "" when the server named nobody
  int64_t at_ms = 0;     // when the answer arrived (device clock)
  std::string entity_type;  // the record the op edits
  std::string entity_id;
  std::string what;      // what the op would do, in words: "set EarlyHelpEpisode ep-1 level_of_need to \"L3\""
  std::string outcome;   // "" while it waits; "applied" or "dismissed" once the server said so
  std::string decided_by;     // who decided
  std::string decision_note;  // dismissed: why; applied: an optional note
  int64_t decided_at_ms = 0;  // server time of the decision
  // The family was purged from this device (a view change, a removal, an erasure) while the op
  // was held: the server still keeps the op and its value; here only its description is kept
  // ("set <type> <id> <field>", never the value) and the decision once the server tells it.
  bool family_purged = false;
};

// The policy the store enforces offline (DOMAIN.md §6.8, S2c), as the server last sent it
// (sync::protocol::PolicySnapshot). Periods in ms, counted from issued_at_ms.
struct PolicySnapshot {
  uint64_t issued_at_ms = 0;  // server time of the answer that carried it
  std::string practitioner;
  std::string organisation;
  std::vector<std::string> system_roles;
  uint64_t sharing_block_after_ms = 0;
  uint64_t lock_after_ms = 0;
  uint64_t purge_after_ms = 0;
  uint64_t key_lease_ms = 0;  // N5: the key lease this answer gave, counted from issued_at_ms
};

// The key lease (N5, docs/encryption.md): the store's keys may be used offline until the lease
// ends; after it the store opens only to sync. A new store gets kDefaultKeyLeaseMs from its
// creation; every server answer that carries a policy snapshot renews it to issued_at +
// the tenant's key_lease_days.
constexpr uint64_t kDefaultKeyLeaseMs = 14ull * 24 * 3600 * 1000;
struct KeyLease {
  uint64_t ends_at_ms = 0;   // on the store's (corrected) clock; 0 when its record is missing
  bool ended = false;        // now (the later of the clock and the highest time seen) >= ends_at_ms
  int64_t remaining_ms = 0;  // until the end; 0 once ended
};

// Where the store stands against its last policy snapshot.
enum class OfflineState {
  no_policy,        // no snapshot received yet: nothing is locked, sharing is blocked
  fresh,            // younger than sharing_block_after_ms
  sharing_blocked,  // sharing acts are blocked; reading and recording work
  locked,           // reads of every family are refused (ErrorCode::locked) until a sync
  purge_due,        // locked, and synced records are purged at the next open
};
const char* to_string(OfflineState state);

struct OfflineStatus {
  std::optional<PolicySnapshot> policy;
  int64_t age_ms = 0;  // now (store clock) minus policy->issued_at_ms; 0 without a policy
  OfflineState state = OfflineState::no_policy;
};

struct StoreStatus {
  std::string device_id;
  size_t families = 0;
  size_t ops = 0;
  size_t unsynced = 0;
  size_t open_conflicts = 0;
  size_t quarantined = 0;    // own ops the server refused, kept sealed (see quarantine)
  size_t held = 0;           // own ops the server holds for someone to decide, undecided (see held)
  int64_t last_sync_ms = 0;  // 0: never
};

// What a wipe destroyed that was on no server (Store::wipe, and the PIN limit).
struct LostWork {
  size_t unsynced = 0;     // ops in the outbox
  size_t quarantined = 0;  // refused ops whose report the server had not acknowledged
};

class SyncPort;  // the sync engine's side of a Store: client/src/sync_port.hpp (internal)

class Store {
 public:
  static Result<std::unique_ptr<Store>> open(const std::string& path, StoreOptions options);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  const std::string& device_id() const;
  const std::string& practitioner_id() const;

  // ---- local edits (each one transaction) ----
  // A new family; its id is also its partition id.
  Result<std::string> create_family(const FieldValues& fields);
  // A new record in a family. `id` is for keyed records (see finding_id, voice_id). A sharing
  // act (a type the schema marks EntityDef::sharing_act: SharingRequest) is refused as
  // may_share() refuses it, naming the consent status time (DOMAIN.md §6.8); the server decides
  // the act at sync.
  Result<std::string> create(const std::string& family, const std::string& type, const FieldValues& fields,
                             const std::optional<std::string>& id = std::nullopt);
  Result<void> update(const std::string& entity_id, const std::string& field, const Value& value);
  Result<void> add_element(const std::string& entity_id, const std::string& field, const std::string& element);
  Result<void> remove_element(const std::string& entity_id, const std::string& field, const std::string& element);
  Result<void> transition(const std::string& entity_id, const std::string& to_state);
  Result<void> delete_entity(const std::string& entity_id);
  Result<void> resolve_conflict(const std::string& conflict_id, const std::optional<Value>& chosen);

  // Runs several edits (e.g. one saved form) as one transaction: every edit is kept, or none.
  // `edits` calls the edit methods above; an error from it, or any storage failure inside,
  // rolls the whole group back. Groups do not nest.
  Result<void> atomically(const std::function<Result<void>()>& edits);

  // ---- keys ----
  Result<void> change_pin(const std::string& old_pin, const std::string& new_pin);
  // Erases a family beyond recovery: its key is destroyed first, then its rows.
  // Refuses with ErrorCode::conflict, erasing nothing, while the family has ops waiting in the
  // outbox or quarantined ops whose report the server has not acknowledged: no purge drops
  // work that is on no server (the sync engine keeps the family and purges at a later sync).
  Result<void> purge_family(const std::string& family_id);
  // Erases the whole store beyond recovery (every key shredded, the WAL truncated, the files
  // deleted), as a revoked device must (the sync engine calls it: a revoked device, or a wipe
  // the office asked for, sync_client.hpp). Returns what was on it and on no server, so the caller
  // says so: nothing is dropped silently. Every later call on this Store fails.
  Result<LostWork> wipe();

  // Copies the WAL into the database file and truncates it (e.g. when the app goes to the
  // background). Returns an error naming the reason when a reader holds it back.
  Result<void> checkpoint();

  // ---- reads (a stored value that fails authentication is an ErrorCode::corrupt error) ----
  // Reads of T2/T3 records (DOMAIN.md §5, §9.1 VIEW: a record returned with a T2 or T3 field
  // set, by get, family, chronology or export_family, or the history of a T2/T3 field) are
  // logged as views: sealed under the device key, at most one per record a minute per Store,
  // bounded by StoreOptions::view_log_limit, and uploaded with the next push into the family's
  // audit chain at the server. Logging never fails a read: a view that cannot be written is
  // counted with the dropped ones.
  // Offline enforcement (DOMAIN.md §6.8, S2c): ages are measured from the later of the clock
  // and the highest time the store has seen (so a clock set back does not shorten a period);
  // once the last policy snapshot is older than
  // its lock period, the reads of family records below (get, family, chronology,
  // open_conflicts, history, export_family, withheld) return ErrorCode::locked naming the
  // family and saying that a sync unlocks it. Edits still record; status, families,
  // quarantine and held still answer; the store still opens and syncs. Past the purge
  // period, opening the store purges every family's synced records and keeps every unsynced
  // or quarantined op sealed until a sync delivers it.
  Result<EntityView> get(const std::string& entity_id) const;
  Result<FamilyView> family(const std::string& family_id) const;
  Result<std::vector<EntityView>> chronology(const std::string& family_id) const;
  Result<std::vector<sync::Conflict>> open_conflicts(const std::string& family_id = {}) const;
  // Every value the field held, oldest first.
  Result<std::vector<FieldWrite>> history(const std::string& entity_id, const std::string& field) const;
  Result<std::vector<std::string>> families() const;
  // Canonical JSON of a family's persisted state (entities + open conflicts), byte-comparable
  // across replicas.
  Result<std::string> export_family(const std::string& family_id) const;
  Result<StoreStatus> status() const;  // counts every record and op: for display, not for hot paths
  // Own ops the server refused, oldest first (shown by `hearth status`).
  Result<std::vector<QuarantinedOp>> quarantine() const;
  // Own ops the server held for someone to decide, oldest first, with the decision once the
  // server told it (shown by `hearth held`).
  Result<std::vector<HeldOp>> held() const;
  // What the server withholds from this practitioner in the family (DOMAIN.md §5; the last
  // page that carried a view said so): "<record id>" for a whole record, "<record id>#<field>"
  // for one field. Empty when nothing is withheld or the server never said. Lets an app show
  // "withheld" rather than "empty". Errors: not_found (no such family), locked.
  Result<std::vector<std::string>> withheld(const std::string& family_id) const;
  // Probable duplicates among the family's records this store holds (DOMAIN.md §2 G1, §8.3 C-1
  // and C-20): persons (same NHS number; or names alike allowing for typing, sex, and date of
  // birth, or due date within days) and contacts (same practitioner and type within minutes),
  // by the one rule the server runs too (core/duplicates.hpp), each naming its two records and
  // why, in key order. Review items only: nothing is merged here (a manager or the office merges
  // at the server; the merge arrives as ops). Merged-away persons (merged_into set) are left out.
  // Pairs across two families are the server's to find (`hearth-server duplicates`).
  // Errors: not_found (no such family), locked.
  Result<std::vector<duplicates::Finding>> probable_duplicates(const std::string& family_id) const;

  // ---- the key lease (N5, docs/encryption.md) ----
  // Past the lease's end the store opens only to sync: every edit and read above (create_family
  // to withheld, each edit of an atomically group, change_pin, may_share) returns ErrorCode::locked saying when the lease ended
  // and that a sync renews it. status, offline_status, key_lease, checkpoint, purge_family and
  // wipe still answer, and the sync engine works (sync_client.hpp): a sync pushes first, then
  // pulls, and renews the lease. The end is sealed under the device key, the master key's
  // wrapping says the store keeps one (a deleted record counts as ended), and the time is the
  // later of the clock and the highest time the store has seen (a clock set back does not
  // extend it).
  Result<KeyLease> key_lease() const;

  // ---- offline enforcement (DOMAIN.md §6.8, S2c) ----
  Result<OfflineStatus> offline_status() const;
  // Whether a sharing act (send a plan, invite to a TAF, export for another agency) may be done
  // now for the family: ErrorCode::forbidden naming the snapshot's age when it is older than
  // sharing_block_after_ms, or when no snapshot was ever received (the act is then queued and
  // decided by the server at sync). not_found for an unknown family. Recording is never blocked.
  Result<void> may_share(const std::string& family_id) const;

 private:
  struct Impl;
  friend class SyncPort;
  explicit Store(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Keyed ids of records that two devices must be able to edit as one (DOMAIN.md §8.3 C-6/C-7).
std::string finding_id(const std::string& assessment_id, const std::string& domain);
std::string voice_id(const std::string& assessment_id, const std::string& child_id);

}  // namespace hearth::client
