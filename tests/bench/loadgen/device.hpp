#pragma once
// One simulated tablet of hearth-loadgen: the /v1 protocol state a real device keeps (credential,
// cursors, views, feed version, history epoch, delivered counter, outbox), without a store. It
// makes edits on the peer-benchmark schema (tests/bench/peer_benchmark_schema.cpp), builds
// request bodies and applies answers; it does no I/O (runner.cpp sends what it builds).
// It remembers every op id it pushed and received, compactly (OpKeys), for the final check.
// Thread-safety: confined; the runner hands a device to one worker at a time.
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "hearth/core/error.hpp"
#include "hearth/sync/hlc.hpp"
#include "hearth/sync/op.hpp"

namespace hearth::loadgen {

// An op id as one number: an interned device id (high 24 bits) and the op counter (low 40).
using OpKey = uint64_t;
class OpKeys {
 public:
  OpKey key(const sync::OpId& id);  // thread-safe
  std::string name(OpKey key) const;  // "<device>:<counter>"
 private:
  mutable std::mutex mutex_;
  std::unordered_map<std::string, uint32_t> index_;
  std::vector<std::string> devices_;
};

// What one push answer said about the ops sent.
struct PushOutcome {
  size_t accepted = 0, duplicate = 0, rejected = 0, held = 0;
  std::string first_problem;  // the reason of the first rejected or held op
};
// What one pull page brought.
struct PullOutcome {
  bool more = false;
  bool changed = true;      // a probe's answer
  size_t ops = 0;           // ops received
  size_t redelivered = 0;   // ops this device had already received by a pull
  size_t purged = 0;        // families the server told it to drop (none expected)
  bool epoch_changed = false;
};

class SimDevice {
 public:
  // `families_to_create`: families this device creates at its first edit (its practitioner then
  // leads them); the other devices of the practitioner edit them once they have pulled them.
  SimDevice(std::string id, std::string practitioner, std::string code, int families_to_create, OpKeys& keys);

  const std::string& id() const { return id_; }
  const std::string& practitioner() const { return practitioner_; }
  bool enrolled() const { return !token_.empty(); }
  const std::string& token() const { return token_; }

  std::string enrol_body() const;
  Result<void> on_enrol(const std::string& body);

  // Adds `n` edits to the outbox: Sets on family fields and new BenchNote records (a creator's
  // first call also creates its families). Nothing when the device knows no family yet.
  void make_edits(std::mt19937_64& rng, int n);
  size_t outbox_size() const { return outbox_.size(); }
  std::string push_body(uint64_t now_ms) const;  // the whole outbox (bounded by make_edits' callers)
  Result<PushOutcome> on_push(const std::string& body);

  bool knows_feed() const { return feed_version_.has_value(); }
  std::string probe_body() const;
  std::string pull_body() const;
  Result<PullOutcome> on_pull(const std::string& body);

  // For the final check: every op the server confirmed from this device, and every op id it
  // holds (confirmed own ops and ops received by pulls).
  const std::vector<OpKey>& confirmed() const { return confirmed_; }
  std::unordered_set<OpKey> held() const;
  // --fault forget-op: drops one op received from another device, so the check must find it.
  bool forget_one_received();

 private:
  sync::Op stamp(sync::Op op);
  void learn(const sync::Op& op);

  std::string id_, practitioner_, code_;
  int families_to_create_;
  OpKeys& keys_;
  std::string token_;
  sync::HybridClock clock_;
  uint64_t counter_ = 0;
  uint64_t delivered_ = 0;  // highest own counter the server confirmed
  std::string epoch_;
  std::optional<int64_t> feed_version_;
  std::map<std::string, int64_t> cursors_;
  std::map<std::string, std::string> views_;
  std::vector<std::string> families_;  // known (created here or pulled), in order of arrival
  std::set<std::string> family_set_;
  // The newest Set this device knows per "<entity>\n<field>": a new Set supersedes it (refs).
  std::unordered_map<std::string, std::pair<sync::Hlc, sync::OpId>> heads_;
  struct Pending {
    std::string id;  // "<device>:<counter>"
    OpKey key;
    std::string bytes;
  };
  std::vector<Pending> outbox_;
  std::vector<OpKey> confirmed_;
  std::unordered_set<OpKey> received_;
};

}  // namespace hearth::loadgen
