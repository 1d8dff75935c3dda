#pragma once
// The tablet's local store: the op log, the materialised state, the outbox of unsynced
// operations and the open conflicts, in one SQLite database (WAL). Each local edit is one
// transaction (op + state + outbox); a batch of remote operations is one transaction.
// Errors are values (Result) with messages that name what was wrong.
// Thread-safety: confined. One Store per thread; open another Store on the same file for
// another thread.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hearth/core/error.hpp"
#include "hearth/core/schema.hpp"
#include "hearth/core/validation.hpp"
#include "hearth/sync/conflict.hpp"
#include "hearth/sync/entity_merge.hpp"
#include "hearth/sync/hlc.hpp"
#include "hearth/sync/op.hpp"

namespace hearth::client {

// scrypt cost of the PIN key derivation; stored with the store and upgraded on unlock.
struct KdfParams {
  uint64_t n = 1u << 15;  // 32 MiB with r = 8: about 0.1 s on a tablet-class core
  uint64_t r = 8;
  uint64_t p = 1;
};

struct StoreOptions {
  std::string practitioner_id;   // author of every edit; saved in a new store, checked after
                                 // (may be left empty to open an existing store as its owner)
  // Encryption at rest (docs/encryption.md). A new store needs a PIN or a keystore key;
  // an existing one is unlocked with the same.
  std::optional<std::string> pin;
  std::optional<std::string> keystore_key;  // 32 bytes from iOS Keychain / Android Keystore
  KdfParams kdf;
  int max_pin_attempts = 10;  // then the store wipes itself
  bool encrypted = true;      // false only for benchmarks and development
  size_t cache_mib = 16;      // SQLite page cache
  sync::PhysicalClock clock;     // defaults to the system clock
  const Schema* schema = nullptr;  // defaults to Schema::v1()
  // Caps the database size in SQLite pages (0: no cap). A write that would pass it fails
  // like a full disk does, with nothing accepted lost.
  int64_t max_pages = 0;
  // Test hook: called at named points inside a write transaction ("before_commit");
  // an error aborts the transaction. Lets tests interrupt an edit before it commits.
  std::function<Result<void>(std::string_view point)> fault;
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

struct OutboxEntry {
  int64_t seq = 0;
  sync::OpId id;
  std::string bytes;  // encoded op
};

struct RejectedOp {
  size_t index = 0;  // position in the batch
  std::string op_id; // when it could be decoded
  Error error;
};

struct ApplyReport {
  size_t applied = 0;
  size_t duplicates = 0;
  std::vector<RejectedOp> rejected;
  std::vector<std::string> clock_warnings;
};

struct StoreStatus {
  std::string device_id;
  size_t families = 0;
  size_t ops = 0;
  size_t unsynced = 0;
  size_t open_conflicts = 0;
  size_t rejected = 0;       // pushed ops the server refused (see rejected_ops)
  int64_t last_sync_ms = 0;  // 0: never
};

struct RejectedPush {
  std::string op_id;
  std::string reason;
  int64_t at_ms = 0;
};

struct SyncCursors {
  std::map<std::string, int64_t> families;  // family -> last server sequence applied
  std::optional<int64_t> feed_version;
  std::string history_epoch;  // the server history epoch last seen; "" before the first sync
};

class Store {
 public:
  struct Impl;

  static Result<std::unique_ptr<Store>> open(const std::string& path, StoreOptions options);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  const std::string& device_id() const;
  const std::string& practitioner_id() const;

  // ---- local edits (each one transaction) ----
  // A new family; its id is also its partition id.
  Result<std::string> create_family(const FieldValues& fields);
  // A new record in a family. `id` is for keyed records (see finding_id, voice_id).
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

  // ---- remote operations (one transaction per batch) ----
  // Decodes and validates each op; malformed or invalid ops are reported in `rejected` and
  // never stored; the others are applied. Duplicates are counted and ignored.
  Result<ApplyReport> apply_remote(const std::vector<std::string>& encoded_ops);

  // ---- keys ----
  Result<void> change_pin(const std::string& old_pin, const std::string& new_pin);
  // Erases a family beyond recovery: its key is destroyed first, then its rows. Refuses while
  // the family has unsynced operations, unless `discard_unsynced`.
  Result<void> purge_family(const std::string& family_id, bool discard_unsynced = false);

  // Copies the WAL into the database file and truncates it (e.g. when the app goes to the
  // background). Returns an error naming the reason when a reader holds it back.
  Result<void> checkpoint();

  // ---- reads (a stored value that fails authentication is an ErrorCode::corrupt error) ----
  Result<EntityView> get(const std::string& entity_id) const;
  Result<FamilyView> family(const std::string& family_id) const;
  Result<std::vector<EntityView>> chronology(const std::string& family_id) const;
  Result<std::vector<sync::Conflict>> open_conflicts(const std::string& family_id = {}) const;
  Result<std::vector<sync::Write>> history(const std::string& entity_id, const std::string& field);
  std::vector<std::string> families() const;
  // Canonical JSON of a family's persisted state (entities + open conflicts), byte-comparable
  // across replicas.
  Result<std::string> export_family(const std::string& family_id) const;
  StoreStatus status() const;  // counts every record and op: for display, not for hot paths
  size_t unsynced() const;     // the outbox size alone

  // ---- sync bookkeeping (used by SyncClient) ----
  Result<void> put_secret(const std::string& name, const std::string& value);  // sealed at rest
  Result<std::optional<std::string>> secret(const std::string& name) const;
  Result<SyncCursors> cursors() const;
  // A page of one family's ops from the server and its new cursor, in one transaction.
  Result<ApplyReport> apply_page(const std::string& family, const std::vector<std::string>& encoded_ops, int64_t cursor);
  Result<void> finish_pull(int64_t feed_version, int64_t now_ms);
  // The server's answer to a push: accepted ops leave the outbox; rejected ones leave it too
  // and are kept with the reason, visible in status.
  Result<void> record_push(const std::vector<int64_t>& accepted,
                           const std::vector<std::pair<int64_t, std::string>>& rejected, int64_t now_ms);
  Result<std::vector<RejectedPush>> rejected_ops() const;
  // The highest counter of this device's own ops the server has confirmed (accepted or
  // duplicate) in the current history epoch; record_push maintains it, 0 after a reset.
  Result<uint64_t> delivered_counter() const;
  // The server's history changed (docs/protocol.md "History"). One transaction: forget every
  // family cursor, the feed version and the delivered counter, record `epoch`, and put back
  // into the outbox every op this device authored that is neither queued nor refused (the
  // server ignores those it holds, by op id).
  Result<void> reset_for_new_history(const std::string& epoch);
  // The offset the server measured (server time minus device time).
  void correct_clock(int64_t offset_ms);
  // The device's physical time as the store's clock reads it (corrected by the last offset):
  // what stamps its ops, and so what it reports to the server.
  int64_t clock_now_ms() const;

  // ---- the change log ----
  Result<std::vector<OutboxEntry>> outbox(size_t limit = 1000) const;
  Result<void> mark_pushed(const std::vector<int64_t>& seqs);
  Result<std::vector<std::string>> encoded_ops(const std::string& family_id) const;  // log order
  std::vector<sync::OpId> op_ids() const;

 private:
  explicit Store(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Keyed ids of records that two devices must be able to edit as one (DOMAIN.md §8.3 C-6/C-7).
std::string finding_id(const std::string& assessment_id, const std::string& domain);
std::string voice_id(const std::string& assessment_id, const std::string& child_id);

}  // namespace hearth::client
