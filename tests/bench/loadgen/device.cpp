#include "device.hpp"

#include <algorithm>
#include <chrono>

#include "hearth/core/civil_time.hpp"
#include "hearth/sync/encoding.hpp"
#include "hearth/sync/protocol.hpp"

namespace hearth::loadgen {

namespace wire = sync::protocol;

namespace {

uint64_t wall_ms() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
}

constexpr const char* kTextFields[] = {"status_note", "risk_summary", "goals_summary", "phone", "city"};
constexpr const char* kIntFields[] = {"visit_count", "priority_score", "risk_level", "household_size"};

}  // namespace

OpKey OpKeys::key(const sync::OpId& id) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto [it, added] = index_.try_emplace(id.device, static_cast<uint32_t>(devices_.size()));
  if (added) devices_.push_back(id.device);
  return (static_cast<uint64_t>(it->second) << 40) | (id.counter & ((uint64_t{1} << 40) - 1));
}

std::string OpKeys::name(OpKey key) const {
  std::lock_guard<std::mutex> lock(mutex_);
  size_t device = static_cast<size_t>(key >> 40);
  return (device < devices_.size() ? devices_[device] : "?") + ":" + std::to_string(key & ((uint64_t{1} << 40) - 1));
}

SimDevice::SimDevice(std::string id, std::string practitioner, std::string code, int families_to_create, OpKeys& keys)
    : id_(std::move(id)),
      practitioner_(std::move(practitioner)),
      code_(std::move(code)),
      families_to_create_(families_to_create),
      keys_(keys),
      clock_(wall_ms) {}

std::string SimDevice::enrol_body() const { return wire::encode(wire::EnrolRequest{code_, id_, practitioner_}); }

Result<void> SimDevice::on_enrol(const std::string& body) {
  auto reply = wire::decode_enrol_reply(body);
  if (!reply) return reply.error();
  token_ = reply->device_token;
  epoch_ = reply->history.epoch;
  return {};
}

sync::Op SimDevice::stamp(sync::Op op) {
  op.id = sync::OpId{id_, ++counter_};
  op.hlc = clock_.tick();
  op.author = practitioner_;
  if (op.kind == sync::OpKind::Set) heads_[op.entity_id + "\n" + op.field] = {op.hlc, op.id};
  std::string bytes = sync::encode(op);
  outbox_.push_back(Pending{op.id.to_string(), keys_.key(op.id), std::move(bytes)});
  return op;
}

void SimDevice::make_edits(std::mt19937_64& rng, int n) {
  for (; families_to_create_ > 0; --families_to_create_) {
    sync::Op op;
    op.kind = sync::OpKind::Create;
    op.family = practitioner_ + "-f" + std::to_string(families_to_create_);
    op.entity_type = "Family";
    op.entity_id = op.family;
    op.fields = {{"family_name", Value("Family " + op.family)}, {"household_size", Value(int64_t{3})}};
    if (family_set_.insert(op.family).second) families_.push_back(op.family);
    stamp(std::move(op));
  }
  if (families_.empty()) return;
  for (int i = 0; i < n; ++i) {
    const std::string& family = families_[rng() % families_.size()];
    sync::Op op;
    op.family = family;
    if (rng() % 10 < 7) {  // a field edit, superseding the newest value this device knows
      op.kind = sync::OpKind::Set;
      op.entity_type = "Family";
      op.entity_id = family;
      bool text = rng() % 2 == 0;
      op.field = text ? kTextFields[rng() % std::size(kTextFields)] : kIntFields[rng() % std::size(kIntFields)];
      op.value = text ? Value("edited by " + id_ + " #" + std::to_string(counter_ + 1))
                      : Value(static_cast<int64_t>(rng() % 1000));
      auto head = heads_.find(op.entity_id + "\n" + op.field);
      if (head != heads_.end()) op.refs.push_back(head->second.second);
    } else {  // a visit note (an append-only record)
      op.kind = sync::OpKind::Create;
      op.entity_type = "BenchNote";
      op.entity_id = id_ + "-n" + std::to_string(counter_ + 1);
      op.fields = {{"at", Value(civil::format_datetime_seconds(static_cast<int64_t>(wall_ms())))},
                   {"author", Value(practitioner_)},
                   {"text", Value("Visit note " + std::to_string(rng() % 100000) + " written on " + id_)}};
    }
    stamp(std::move(op));
  }
}

std::string SimDevice::push_body(uint64_t now_ms) const {
  wire::PushRequest request;
  request.device_time_ms = now_ms;
  request.history_epoch = epoch_;
  request.delivered_counter = delivered_;
  for (const auto& p : outbox_) request.ops.push_back(p.bytes);
  return wire::encode(request);
}

Result<PushOutcome> SimDevice::on_push(const std::string& body) {
  auto reply = wire::decode_push_reply(body);
  if (!reply) return reply.error();
  PushOutcome out;
  std::map<std::string, const wire::OpResult*> by_id;
  for (const auto& r : reply->results) by_id[r.op_id] = &r;
  std::vector<Pending> kept;
  for (auto& p : outbox_) {
    auto it = by_id.find(p.id);
    if (it == by_id.end()) {  // not answered: sent again next time (idempotent by op id)
      kept.push_back(std::move(p));
      continue;
    }
    switch (it->second->status) {
      case wire::OpStatus::accepted: ++out.accepted; confirmed_.push_back(p.key); break;
      case wire::OpStatus::duplicate: ++out.duplicate; confirmed_.push_back(p.key); break;
      case wire::OpStatus::rejected: ++out.rejected; break;
      case wire::OpStatus::held: ++out.held; break;
    }
    if ((it->second->status == wire::OpStatus::rejected || it->second->status == wire::OpStatus::held) &&
        out.first_problem.empty())
      out.first_problem = p.id + ": " + it->second->reason;
    uint64_t counter = p.key & ((uint64_t{1} << 40) - 1);
    if (it->second->status != wire::OpStatus::rejected) delivered_ = std::max(delivered_, counter);
  }
  outbox_ = std::move(kept);
  return out;
}

std::string SimDevice::probe_body() const {
  wire::PullRequest request;
  request.probe = true;
  request.feed_version = feed_version_;
  request.history_epoch = epoch_;
  request.delivered_counter = delivered_;
  for (const auto& [family, cursor] : cursors_) request.highest_cursor = std::max(request.highest_cursor, cursor);
  return wire::encode(request);
}

std::string SimDevice::pull_body() const {
  wire::PullRequest request;
  request.cursors = cursors_;
  request.views = views_;
  request.feed_version = feed_version_;
  request.history_epoch = epoch_;
  request.delivered_counter = delivered_;
  for (const auto& [family, cursor] : cursors_) request.highest_cursor = std::max(request.highest_cursor, cursor);
  return wire::encode(request);
}

void SimDevice::learn(const sync::Op& op) {
  (void)clock_.observe(op.hlc);
  if (op.kind != sync::OpKind::Set) return;
  auto& head = heads_[op.entity_id + "\n" + op.field];
  if (head.second.device.empty() || head.first < op.hlc) head = {op.hlc, op.id};
}

Result<PullOutcome> SimDevice::on_pull(const std::string& body) {
  auto reply = wire::decode_pull_reply(body);
  if (!reply) return reply.error();
  PullOutcome out;
  out.more = reply->more;
  out.changed = reply->changed;
  if (!reply->history.epoch.empty() && reply->history.epoch != epoch_) {
    out.epoch_changed = !epoch_.empty();
    epoch_ = reply->history.epoch;
  }
  for (const auto& family : reply->purge) {
    ++out.purged;
    cursors_.erase(family);
    views_.erase(family);
  }
  for (const auto& page : reply->families) {
    if (family_set_.insert(page.family).second) families_.push_back(page.family);
    for (const auto& bytes : page.ops) {
      auto op = sync::decode(bytes);
      if (!op) return op.error();
      if (!received_.insert(keys_.key(op->id)).second) ++out.redelivered;
      learn(*op);
      ++out.ops;
    }
    cursors_[page.family] = page.cursor;
    if (!page.view.empty()) views_[page.family] = page.view;
  }
  if (!reply->more && reply->feed_version) feed_version_ = reply->feed_version;
  return out;
}

std::unordered_set<OpKey> SimDevice::held() const {
  std::unordered_set<OpKey> all(received_);
  all.insert(confirmed_.begin(), confirmed_.end());
  return all;
}

bool SimDevice::forget_one_received() {
  std::unordered_set<OpKey> own(confirmed_.begin(), confirmed_.end());
  for (OpKey key : received_)
    if (!own.count(key)) {
      received_.erase(key);
      return true;
    }
  return false;
}

}  // namespace hearth::loadgen
