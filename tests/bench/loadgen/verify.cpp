#include "verify.hpp"

#include <map>
#include <unordered_map>

#include "hearth/sync/encoding.hpp"
#include "hearth/sync/protocol.hpp"

namespace hearth::loadgen {

namespace wire = sync::protocol;

namespace {

constexpr size_t kMaxExamples = 5;
constexpr size_t kMaxPages = 10000;

// A full pull with this device's credential, from no cursor; op key -> times sent.
Result<std::unordered_map<OpKey, uint32_t>> full_view(Connections& c, const SimDevice& d, OpKeys& keys) {
  std::unordered_map<OpKey, uint32_t> seen;
  std::map<std::string, int64_t> cursors;
  for (size_t n = 0; n < kMaxPages; ++n) {
    wire::PullRequest request;
    request.cursors = cursors;
    Call call = c.post(0, "/v1/pull", wire::encode(request), d.token());
    if (!call.error.empty()) return make_error(ErrorCode::network, call.detail);
    auto reply = wire::decode_pull_reply(call.body);
    if (!reply) return reply.error();
    for (const auto& page : reply->families) {
      for (const auto& bytes : page.ops) {
        auto op = sync::decode(bytes);
        if (!op) return op.error();
        ++seen[keys.key(op->id)];
      }
      cursors[page.family] = page.cursor;
    }
    if (!reply->more) return seen;
  }
  return make_error(ErrorCode::too_large, "the full pull did not end within " + std::to_string(kMaxPages) + " pages");
}

}  // namespace

Verification verify(const std::vector<std::unique_ptr<SimDevice>>& devices, Connections& c, OpKeys& keys) {
  Verification v;
  auto note = [&](const std::string& what) {
    if (v.examples.size() < kMaxExamples) v.examples.push_back(what);
  };
  std::map<std::string, std::vector<const SimDevice*>> by_practitioner;
  for (const auto& d : devices)
    if (d->enrolled()) by_practitioner[d->practitioner()].push_back(d.get());
  for (const auto& [practitioner, team] : by_practitioner) {
    ++v.practitioners;
    auto view = full_view(c, *team.front(), keys);
    if (!view) {
      ++v.audit_failures;
      note(practitioner + ": full pull failed: " + view.error().describe());
      continue;
    }
    v.server_ops += view->size();
    for (const auto& [key, times] : *view)
      if (times > 1) {
        ++v.duplicated;
        note(keys.name(key) + " sent " + std::to_string(times) + " times in " + practitioner + "'s full pull");
      }
    for (const SimDevice* d : team) {
      ++v.devices;
      for (OpKey key : d->confirmed()) {
        ++v.confirmed_ops;
        if (!view->count(key)) {
          ++v.lost;
          note(keys.name(key) + " confirmed to " + d->id() + " but not on the server");
        }
      }
      auto held = d->held();
      uint64_t missing = 0, extra = 0;
      for (const auto& [key, times] : *view) missing += held.count(key) ? 0u : 1u;
      for (OpKey key : held) extra += view->count(key) ? 0u : 1u;
      if (missing || extra) {
        ++v.devices_diverged;
        note(d->id() + " lacks " + std::to_string(missing) + " and has " + std::to_string(extra) +
             " ops beyond its practitioner's view");
      }
      v.missing_on_devices += missing;
      v.extra_on_devices += extra;
    }
  }
  return v;
}

}  // namespace hearth::loadgen
