#pragma once
// The private state of a Store, shared by store.cpp (open, edits, remote batches, purge),
// store_reads.cpp (reads) and sync_port.cpp (the sync engine's bookkeeping).
#include <exception>
#include <functional>
#include <map>
#include <new>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "hearth/client/store.hpp"
#include "sync_port.hpp"
#include "hearth/sync/materialiser.hpp"
#include "hearth/platform/sqlite_db.hpp"
#include "vault.hpp"

namespace hearth::client {

// Associated data of every sealed column: a value opens only in the row it was written to.
namespace aad {
inline std::string op(const sync::OpId& id) { return "op|" + id.to_string(); }
inline std::string field(const std::string& entity, const std::string& name) { return "field|" + entity + "|" + name; }
inline std::string multi(const std::string& entity, const std::string& name) { return "multi|" + entity + "|" + name; }
inline std::string created_by(const std::string& entity) { return "created_by|" + entity; }
inline std::string occurred(const std::string& entity) { return "occurred|" + entity; }
inline std::string conflict(const std::string& id) { return "conflict|" + id; }
inline std::string secret(const std::string& name) { return "secret|" + name; }
// a quarantined op's reason (named before the quarantine existed)
inline std::string reason(int64_t seq) { return "rejected|" + std::to_string(seq); }
inline std::string held(int64_t seq) { return "held|" + std::to_string(seq); }
inline std::string held_decision(int64_t seq) { return "held-decision|" + std::to_string(seq); }
// a held op of a purged family: its description, and the decision once known
inline std::string held_purged(int64_t seq) { return "held-purged|" + std::to_string(seq); }
inline std::string held_purged_decision(int64_t seq) { return "held-purged-decision|" + std::to_string(seq); }
inline std::string view(const std::string& family) { return "view|" + family; }
inline std::string record_view(int64_t seq) { return "record-view|" + std::to_string(seq); }
}  // namespace aad

// The partition whose key seals the device's own secrets (credential, server address, CA) and
// the server's reasons for refusing ops.
constexpr const char* kDevicePartition = "#device";

struct Store::Impl {
  Impl(std::unique_ptr<Database> database, const Schema& schema, StoreOptions opts);

  std::unique_ptr<Database> db;
  std::unique_ptr<Vault> vault;
  sync::Materialiser mat;
  sync::HybridClock clock;
  StoreOptions options;
  std::string path;
  std::string device;
  int64_t seen_version = -1;  // PRAGMA data_version when the caches below were last valid
  std::set<std::string> loaded;              // families whose ops are in `mat`
  std::set<std::string> with_conflict_rows;  // entities of loaded families with rows in `conflicts`
  struct Group {
    bool failed = false;
    std::set<std::string> families;
  };
  std::optional<Group> group;  // set while Store::atomically runs

  Result<void> init(bool& wipe_needed);
  // The threading model (store.hpp): when another connection committed since this Store last
  // looked, drop every in-memory cache (merged families, conflict rows, family keys) and reload
  // the clock. Called at the start of each public call and again inside every write
  // transaction, where no other connection can commit until this one does.
  Result<void> refresh(bool force = false);
  Result<void> load_clock();
  // The next op counter of this device, from the database: call inside the write transaction.
  Result<uint64_t> next_counter();
  Result<void> raise_counter_floor(int64_t value);
  Result<std::string> meta(const std::string& key);
  Result<void> set_meta(const std::string& key, const std::string& value);
  Result<void> ensure_family(const std::string& family);
  std::optional<std::string> family_of(const std::string& entity_id);
  // Whether this store holds any record of the family (its root may be withheld from this
  // practitioner while other records are shared, docs/access.md).
  bool holds_family(const std::string& family);
  Result<void> insert_op(const sync::Op& op, std::string_view encoded, bool outbox);
  Result<sync::Op> read_op(const std::string& family, const sync::OpId& id, std::string_view body);
  // Persists what `op` changed of its record (everything when op is null).
  Result<void> write_entity(const std::string& entity_id, const sync::Op* op);
  Result<void> write_field(const sync::EntityMerge& e, const FieldDef& f);
  Result<void> write_fields(const std::string& entity_id, const std::set<std::string>& names);
  Result<void> write_conflicts(const sync::EntityMerge& e);
  // `sensitive`, when given, receives the ids of the records read with a T2 or T3 field set.
  Result<std::vector<EntityView>> read_records(const std::string& where, const std::string& param,
                                               std::set<std::string>* sensitive = nullptr);
  // ---- the view log (store_views.cpp; DOMAIN.md §9.1 VIEW) ----
  std::map<std::string, uint64_t> recent_views;  // record -> when this Store last logged a view of it
  uint64_t unlogged_views = 0;  // views that could not be written: counted as dropped at the next write
  // Logs a view of each record of `rows` whose id is in `sensitive`. Never fails the read.
  void log_views(const std::vector<EntityView>& rows, const std::set<std::string>& sensitive);
  Result<void> write_record_view(const std::string& family, const std::string& type, const std::string& id,
                                 uint64_t at_ms);
  Result<void> save_clock();
  Result<void> fault(std::string_view point);
  // Test hook (SyncPort::set_fault_hook): called at named points inside a write transaction.
  std::function<Result<void>(std::string_view)> fault_hook;

  // A call of the app's API that needs the store's keys (store.hpp, "the key lease"): refused
  // with ErrorCode::locked once the lease has ended. The sync engine's port calls `call`.
  template <typename F>
  auto app_call(const char* what, F&& body) -> decltype(body()) {
    return call(what, [&]() -> decltype(body()) {
      if (auto r = check_lease(what); !r) return r.error();
      return body();
    });
  }
  // Runs one call of the public API or the port: no exception leaves it (an unexpected one
  // becomes ErrorCode::storage naming the call), a wiped Store answers with an error, and the
  // caches are checked against the file first (the threading model, store.hpp).
  template <typename F>
  auto call(const char* what, F&& body) -> decltype(body()) {
    try {
      if (!db) return make_error(ErrorCode::invalid_argument, std::string(what) + ": this store was wiped");
      if (auto r = refresh(); !r) return r.error();
      return body();
    } catch (const std::bad_alloc&) {
      forget_after_exception();
      return make_error(ErrorCode::storage, std::string(what) + ": out of memory");
    } catch (const std::exception& e) {
      forget_after_exception();
      return make_error(ErrorCode::storage, std::string(what) + ": unexpected failure: " + e.what());
    } catch (...) {
      forget_after_exception();
      return make_error(ErrorCode::storage, std::string(what) + ": unexpected failure");
    }
  }
  // The transaction an exception left rolled back, but the caches may hold part of it: inside
  // a group the group fails; otherwise the next call rebuilds every cache from the file.
  void forget_after_exception() noexcept {
    if (group) group->failed = true;
    else seen_version = -1;
  }
  // One local edit: begins the write transaction (unless a group holds one), refreshes, builds
  // the op, gives it the next counter and a stamp, stores and applies it, commits.
  Result<std::string> local(const std::function<Result<sync::Op>()>& build);
  using Builder = std::function<Result<sync::Op>(const sync::Materialiser&)>;
  Result<void> edit(const std::string& entity_id, const Builder& build);
  void evict(const std::string& family);
  // What of `family` is on no server yet, in words ("" when nothing): outbox ops and refused
  // ops whose report the server has not acknowledged.
  Result<std::string> unsent_work(const std::string& family);
  Result<void> mark_quarantine(const std::vector<std::string>& op_ids, const char* sql);
  Result<std::vector<QuarantinedOp>> read_quarantine();
  Result<ApplyReport> apply_batch(const std::vector<std::string>& encoded_ops, const std::function<Result<void>()>& also);
  // The held ops of live families and of purged ones (held_purged), in the order they were made.
  Result<std::vector<HeldOp>> read_held();
  // Inside a write transaction, before a purge erases the family's ops or key: moves each of
  // its held ops to held_purged, described without the edited value and sealed under the
  // device key, so the practitioner still sees it and its decision (DOMAIN.md §7: no purge
  // drops work the practitioner has not seen handled; the server keeps the op itself).
  Result<void> keep_held(const std::string& family);
  // Inside a write transaction: the family's merged state and its stored records rebuilt from
  // its op log without the ops held at the server (the `held` table), after ops joined or left
  // that table. `entities`: the records those ops edit (a record left with no op is removed).
  Result<void> rematerialise(const std::string& family, const std::set<std::string>& entities);

  // ---- views and offline enforcement ----
  // The view digest and withheld list the family's last page carried (nullopt: none yet).
  Result<std::optional<FamilyViewInfo>> read_view(const std::string& family);
  Result<void> write_view(const std::string& family, const FamilyViewInfo& info);
  Result<std::optional<PolicySnapshot>> read_policy();
  Result<OfflineStatus> offline_status();
  // The highest time this store has seen (DOMAIN.md §6.8, S2c): sealed under the device key,
  // raised at open and by every local edit, reset to the server's time by a sync. Offline
  // periods are measured from max(now, it), so setting the tablet's clock back does not make
  // the policy snapshot younger. 0 when never recorded.
  Result<uint64_t> read_seen();
  // Inside a write transaction (or in one of its own when none is open): raises the highest
  // time seen to `now_ms` when that is later (by a minute or more: one write a minute at most),
  // or sets it to `now_ms` whatever it was when `reset` (a sync brought the server's time).
  Result<void> note_seen(uint64_t now_ms, bool reset = false);
  // ---- the key lease (N5, store_lease.cpp) ----
  struct LeaseCache {
    bool present = false;  // a lease record exists
    uint64_t ends_at = 0;
    uint64_t seen = 0;     // the highest time seen when read (note_seen keeps it current)
  };
  std::optional<LeaseCache> lease_cache;  // dropped by refresh() when another connection committed
  // The lease end, sealed under the device key (nullopt: no record).
  Result<std::optional<uint64_t>> read_lease();
  // Inside a write transaction: records the lease end (a sync renewing it, or a first lease).
  Result<void> write_lease(uint64_t ends_at_ms);
  // Inside init's transaction, for a new store or one made before the lease: its first lease
  // (from its last policy snapshot when it has one, else from now) and its highest time seen.
  Result<void> start_lease();
  // At open: a store whose wrapping says it keeps a lease but that has lost its highest time
  // seen (a deleted row) counts as at its lease's end, so deleting rows extends nothing.
  Result<void> guard_seen();
  Result<KeyLease> key_lease();
  Result<void> check_lease(const char* what);

  // ErrorCode::forbidden naming "consent status as of <time>" when a sharing act of the family
  // may not be made now (Store::may_share).
  Result<void> may_share(const std::string& family);
  // ErrorCode::locked naming the family when the policy snapshot is past its lock period.
  Result<void> check_unlocked(const std::string& family);
  // At open: past the purge period, every family's synced records are purged (purge_synced).
  Result<void> purge_expired();
  // Inside a write transaction: erases the family's key and rows (the caller checked that no
  // unsent work is held).
  Result<void> erase_family(const std::string& family);
  // Inside a write transaction: erases what of the family is on the server (synced ops, state,
  // cursor, view) and keeps its key and every op that is not: the outbox and the quarantine
  // whose report is not acknowledged. The state is rebuilt from what is kept.
  Result<void> erase_synced(const std::string& family);
};

}  // namespace hearth::client
