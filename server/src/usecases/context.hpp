#pragma once
// What every use case works with: storage through its narrow interfaces, the access policy,
// the family cache, the server's clocks and limits. The sync service owns these and runs one
// use case at a time under its lock.
#include <cstdint>
#include <functional>
#include <map>
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

struct ServiceContext {
  Storage& store;
  AccessPolicy& policy;
  FamilyCache& cache;
  std::function<uint64_t()>& clock;  // server time, ms since the epoch
  const ServiceLimits& limits;
  sync::ClockGuard& guard;
  sync::HybridClock& server_clock;  // stamps the ops the server authors (restamps)
  ChangedRecords& changed;

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
