#pragma once
// What every use case works with: storage through its narrow interfaces, the access policy,
// the family cache, the server's clocks and limits. The sync service keeps a pool of these
// contexts, one per database connection; a context serves one request at a time, and several
// contexts run at once (sync_service.hpp). What they share (the clock guard, the server's
// hybrid clock, the limits) is thread-safe; the rest is the context's own.
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <optional>
#include <string>

#include "access/access_policy.hpp"
#include "family_cache.hpp"
#include "hearth/sync/clock_guard.hpp"
#include "hearth/sync/hlc.hpp"
#include "hearth/sync/protocol.hpp"
#include "storage/storage.hpp"

namespace hearth::server {

struct ServiceLimits {
  // Bodies, ops and pages in bytes, JSON depth and elements; push_bytes and op_bytes are
  // advertised to devices in every enrol and push answer.
  sync::protocol::Limits wire;
  int64_t enrol_code_ttl_ms = 24ll * 3600 * 1000;
  int64_t credential_ttl_ms = 365ll * 24 * 3600 * 1000;
  FamilyCacheLimits cache;
};

// The records changed by the current transaction's accepted ops, each written once to the
// records store just before the transaction commits (usecases/current_records.hpp): a push of
// many edits to one record renders and seals it once.
struct ChangedRecords {
  uint64_t transaction = 0;  // Storage::transaction_id() these belong to
  std::map<std::string, std::pair<std::string, int64_t>> latest;  // record id -> (family, sequence number)
  std::set<std::string> families;  // every family written, forgotten by the cache on a rollback
  // The same for the office outbox (usecases/office_outbox.hpp), queued just before the commit.
  uint64_t office_transaction = 0;
  std::map<std::string, std::pair<std::string, int64_t>> office;  // record id -> (family, sequence number)
};

// The server's hybrid clock, shared by every context of the pool: one clock, so every op the
// server authors gets a stamp after every stamp it issued or observed, whichever context asks.
// Thread-safe.
class ServerClock {
 public:
  explicit ServerClock(std::function<uint64_t()> physical) : clock_(std::move(physical)) {}
  sync::Hlc tick() {
    std::lock_guard<std::mutex> lock(mutex_);
    return clock_.tick();
  }
  Result<void> observe(const sync::Hlc& remote) {
    std::lock_guard<std::mutex> lock(mutex_);
    return clock_.observe(remote);
  }

 private:
  std::mutex mutex_;
  sync::HybridClock clock_;
};

// The families the current transaction of one context has locked (Storage::lock_family), so
// each is locked once per transaction. Outside a transaction nothing is locked: a read there
// changes nothing. Thread-safety: one per context, like its Storage.
class FamilyLocks {
 public:
  explicit FamilyLocks(Storage& store) : store_(store) {}
  // Locks `family` until the current transaction ends; no-op outside a transaction or when
  // this transaction holds it already. Errors are the storage's (e.g. a lock wait timed out).
  Result<void> lock(const std::string& family) {
    uint64_t t = store_.transaction_id();
    if (t == 0 || family.empty()) return {};
    if (t != transaction_) {
      held_.clear();
      transaction_ = t;
    }
    if (held_.count(family)) return {};
    if (auto r = store_.lock_family(family); !r) return r;
    held_.insert(family);
    return {};
  }
  // Whether the current transaction holds `family`'s lock (false outside a transaction).
  bool holds(const std::string& family) const {
    uint64_t t = store_.transaction_id();
    return t != 0 && t == transaction_ && held_.count(family) != 0;
  }
  // Locks every family of `families` in its (sorted) order: writers that lock several
  // families all take them in the same order, so none waits on another in a cycle.
  Result<void> lock_all(const std::set<std::string>& families) {
    for (const auto& f : families)
      if (auto r = lock(f); !r) return r;
    return {};
  }

 private:
  Storage& store_;
  uint64_t transaction_ = 0;
  std::set<std::string> held_;
};

struct ServiceContext {
  Storage& store;
  AccessPolicy& policy;
  FamilyCache& cache;
  std::function<uint64_t()>& clock;  // server time, ms since the epoch
  const ServiceLimits& limits;
  sync::ClockGuard& guard;
  ServerClock& server_clock;  // stamps the ops the server authors (restamps); shared, thread-safe
  ChangedRecords& changed;
  // Per-family serialisation of writes (Storage::lock_family); the family cache takes the lock
  // whenever a transaction reads a family's state (FamilyCache::get).
  FamilyLocks& locks;

  int64_t now() const { return static_cast<int64_t>(clock()); }
  // Writes an audit event; a failure to audit outside a transaction is not the caller's error.
  // This history's identity for an answer; replaced first when `went_back` is not empty (it
  // says why: a restore was found), which is audited.
  Result<sync::protocol::HistoryInfo> history(const std::string& went_back, const DeviceRecord* device) {
    auto epoch = went_back.empty() ? store.ops().history_epoch() : store.ops().renew_history_epoch();
    if (!epoch) return epoch.error();
    if (!went_back.empty()) audit(device, "history-epoch", "", went_back + "; new epoch " + *epoch);
    return sync::protocol::HistoryInfo{*epoch};
  }
  void audit(const DeviceRecord* device, const std::string& action, const std::string& family,
             const std::string& detail) {
    (void)store.audit().append(AuditEvent{now(), device ? device->practitioner : "anonymous",
                                          device ? device->id : "", action, family, detail});
  }
};

// A use case's answer: the reply, or the error to send instead.
template <typename T>
struct Answer {
  std::optional<T> reply;
  sync::protocol::ErrorReply error;

  static Answer ok(T value) { return Answer{std::move(value), {}}; }
  static Answer fail(sync::protocol::WireError code, std::string message) {
    return Answer{std::nullopt, sync::protocol::ErrorReply{code, std::move(message)}};
  }
};

}  // namespace hearth::server
