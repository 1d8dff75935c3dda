#pragma once
// A replica as the property suite sees it: local edits, the ops it knows (encoded), and its
// rendered state. Implemented over the pure Materialiser (MemoryPeer) and over the SQLite
// store (StorePeer, store_peer.hpp), so the same scenarios run against both.
#include <optional>
#include <string>
#include <vector>

#include "hearth/sync/encoding.hpp"
#include "replica.hpp"

namespace hearth::test {

class Peer {
 public:
  virtual ~Peer() = default;
  virtual Result<std::string> create_family(const FieldValues& fields) = 0;
  virtual Result<void> create(const std::string& family, const std::string& type, const std::string& id,
                              const FieldValues& fields) = 0;
  virtual Result<void> set(const std::string& id, const std::string& field, const Value& v) = 0;
  virtual Result<void> add(const std::string& id, const std::string& field, const std::string& e) = 0;
  virtual Result<void> remove(const std::string& id, const std::string& field, const std::string& e) = 0;
  virtual Result<void> transition(const std::string& id, const std::string& to) = 0;
  virtual Result<void> erase(const std::string& id) = 0;
  virtual Result<void> resolve(const std::string& conflict_id, const std::optional<Value>& v) = 0;
  virtual std::vector<sync::Conflict> conflicts(const std::string& family) = 0;
  virtual std::vector<std::string> encoded_ops(const std::string& family) = 0;
  virtual void receive(const std::vector<std::string>& encoded) = 0;
  virtual std::string render(const std::string& family) = 0;
  virtual std::vector<sync::OpId> op_ids() = 0;
};

class MemoryPeer final : public Peer {
 public:
  MemoryPeer(const std::string& device, const std::string& author, FakeClock clock) : r_(device, author, clock) {}

  Result<std::string> create_family(const FieldValues& fields) override {
    std::string id = "fam-" + r_.device();
    auto r = r_.create(id, "Family", id, fields);
    if (!r) return r.error();
    return id;
  }
  Result<void> create(const std::string& family, const std::string& type, const std::string& id,
                      const FieldValues& fields) override {
    return done(r_.create(family, type, id, fields));
  }
  Result<void> set(const std::string& id, const std::string& field, const Value& v) override {
    return done(r_.set(id, field, v));
  }
  Result<void> add(const std::string& id, const std::string& field, const std::string& e) override {
    return done(r_.add(id, field, e));
  }
  Result<void> remove(const std::string& id, const std::string& field, const std::string& e) override {
    return done(r_.remove(id, field, e));
  }
  Result<void> transition(const std::string& id, const std::string& to) override { return done(r_.transition(id, to)); }
  Result<void> erase(const std::string& id) override { return done(r_.erase(id)); }
  Result<void> resolve(const std::string& conflict_id, const std::optional<Value>& v) override {
    for (const auto& fam : r_.mat().families())
      for (const auto& c : r_.mat().open_conflicts(fam))
        if (c.id == conflict_id) return done(r_.resolve(c.entity_id, conflict_id, v));
    return make_error(ErrorCode::not_found, "no conflict " + conflict_id);
  }
  std::vector<sync::Conflict> conflicts(const std::string& family) override { return r_.mat().open_conflicts(family); }
  std::vector<std::string> encoded_ops(const std::string& family) override {
    std::vector<std::string> out;
    for (const sync::Op* op : r_.mat().ops(family)) out.push_back(sync::encode(*op));
    return out;
  }
  void receive(const std::vector<std::string>& encoded) override {
    for (const auto& b : encoded) {
      auto op = sync::decode(b);
      if (op) r_.receive(*op);
    }
  }
  std::string render(const std::string& family) override { return r_.mat().render_family(family).value(); }
  std::vector<sync::OpId> op_ids() override {
    std::vector<sync::OpId> out;
    for (const auto& fam : r_.mat().families())
      for (const sync::Op* op : r_.mat().ops(fam)) out.push_back(op->id);
    std::sort(out.begin(), out.end());
    return out;
  }

 private:
  static Result<void> done(const Result<sync::Op>& r) {
    if (!r) return r.error();
    return {};
  }
  Replica r_;
};

}  // namespace hearth::test
