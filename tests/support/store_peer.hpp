#pragma once
#include <memory>

#include "hearth/client/store.hpp"
#include "../../client/src/sync_port.hpp"  // the sync engine's side of a Store (internal)
#include "peer.hpp"

namespace hearth::test {

class StorePeer final : public Peer {
 public:
  StorePeer(const std::string& path, const std::string& author, FakeClock clock) {
    client::StoreOptions o;
    o.practitioner_id = author;
    o.clock = clock.fn();
    o.pin = "2468";
    o.kdf = client::KdfParams{1u << 10, 8, 1};
    auto s = client::Store::open(path, std::move(o));
    if (!s) throw std::runtime_error(s.error().describe());
    store_ = std::move(s.value());
  }
  client::Store& store() { return *store_; }

  Result<std::string> create_family(const FieldValues& fields) override { return store_->create_family(fields); }
  Result<void> create(const std::string& family, const std::string& type, const std::string& id,
                      const FieldValues& fields) override {
    if (type == "Family") return make_error(ErrorCode::invalid_argument, "families are seeded by the harness");
    auto r = store_->create(family, type, fields, id);
    if (!r) return r.error();
    return {};
  }
  Result<void> set(const std::string& id, const std::string& field, const Value& v) override {
    return store_->update(id, field, v);
  }
  Result<void> add(const std::string& id, const std::string& field, const std::string& e) override {
    return store_->add_element(id, field, e);
  }
  Result<void> remove(const std::string& id, const std::string& field, const std::string& e) override {
    return store_->remove_element(id, field, e);
  }
  Result<void> transition(const std::string& id, const std::string& to) override { return store_->transition(id, to); }
  Result<void> erase(const std::string& id) override { return store_->delete_entity(id); }
  Result<void> resolve(const std::string& conflict_id, const std::optional<Value>& v) override {
    return store_->resolve_conflict(conflict_id, v);
  }
  std::vector<sync::Conflict> conflicts(const std::string& family) override { return ok(store_->open_conflicts(family)); }
  std::vector<std::string> encoded_ops(const std::string& family) override { return ok(sync_port(*store_).encoded_ops(family)); }
  void receive(const std::vector<std::string>& encoded) override {
    auto r = sync_port(*store_).apply_remote(encoded);
    if (!r) throw std::runtime_error(r.error().describe());
    if (!r->rejected.empty()) throw std::runtime_error("valid op rejected: " + r->rejected[0].error.describe());
  }
  std::string render(const std::string& family) override { return ok(store_->export_family(family)); }
  std::vector<sync::OpId> op_ids() override { return ok(sync_port(*store_).op_ids()); }

 private:
  template <typename T>
  static T ok(Result<T> r) {
    if (!r) throw std::runtime_error(r.error().describe());
    return std::move(r.value());
  }
  std::unique_ptr<client::Store> store_;
};

}  // namespace hearth::test
