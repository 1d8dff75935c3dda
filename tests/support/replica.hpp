#pragma once
// A replica made of the pure parts only (Materialiser + HybridClock): what the store does,
// without SQLite. Used by unit and property tests.
#include <string>
#include <vector>

#include "hearth/core/schema.hpp"
#include "hearth/sync/materialiser.hpp"
#include "fake_clock.hpp"

namespace hearth::test {

class Replica {
 public:
  Replica(std::string device, std::string author, FakeClock clock, const Schema& schema = Schema::v1())
      : device_(std::move(device)), author_(std::move(author)), clock_(clock.fn()), mat_(schema) {}

  sync::Materialiser& mat() { return mat_; }
  const sync::Materialiser& mat() const { return mat_; }
  sync::HybridClock& clock() { return clock_; }
  const std::vector<sync::Op>& made() const { return made_; }
  const std::string& device() const { return device_; }

  // Stamps and applies a built op; returns it (to send elsewhere) or the builder's error.
  Result<sync::Op> commit(Result<sync::Op> built) {
    if (!built) return built.error();
    sync::Op op = std::move(built.value());
    op.id = sync::OpId{device_, ++counter_};
    op.hlc = clock_.tick();
    op.author = author_;
    auto applied = mat_.apply(op);
    if (!applied) return applied.error();
    made_.push_back(op);
    return op;
  }
  Result<sync::Op> create(const std::string& family, const std::string& type, const std::string& id,
                          const FieldValues& fields) {
    return commit(mat_.make_create(family, type, id, fields));
  }
  Result<sync::Op> set(const std::string& id, const std::string& field, const Value& v) {
    return commit(mat_.make_set(id, field, v));
  }
  Result<sync::Op> add(const std::string& id, const std::string& field, const std::string& e) {
    return commit(mat_.make_add(id, field, e));
  }
  Result<sync::Op> remove(const std::string& id, const std::string& field, const std::string& e) {
    return commit(mat_.make_remove(id, field, e));
  }
  Result<sync::Op> transition(const std::string& id, const std::string& to) {
    return commit(mat_.make_transition(id, to));
  }
  Result<sync::Op> erase(const std::string& id) { return commit(mat_.make_delete(id)); }
  Result<sync::Op> resolve(const std::string& id, const std::string& conflict, const std::optional<Value>& v) {
    return commit(mat_.make_resolution(id, conflict, v));
  }

  // Receives a remote op the way a store does: merge, then let the clock observe it.
  bool receive(const sync::Op& op) {
    auto applied = mat_.apply(op);
    if (applied && *applied) (void)clock_.observe(op.hlc);
    return applied.ok();
  }
  void receive_all(const std::vector<sync::Op>& ops) {
    for (const auto& op : ops) receive(op);
  }
  // Receives a batch the way the store does (Store::apply_remote): merge every op, then let the
  // clock observe each op's effective stamp, so a restamp later in the batch counts.
  void receive_batch(const std::vector<sync::Op>& ops) {
    std::vector<const sync::Op*> applied;
    for (const auto& op : ops) {
      auto r = mat_.apply(op);
      if (r && *r) applied.push_back(&op);
    }
    for (const sync::Op* op : applied) (void)clock_.observe(mat_.effective_stamp(*op));
  }

 private:
  std::string device_;
  std::string author_;
  sync::HybridClock clock_;
  sync::Materialiser mat_;
  uint64_t counter_ = 0;
  std::vector<sync::Op> made_;
};

}  // namespace hearth::test
