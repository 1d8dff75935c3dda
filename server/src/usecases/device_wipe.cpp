#include "device_wipe.hpp"

#include "hearth/core/civil_time.hpp"

namespace hearth::server {

using sync::protocol::WireError;

std::optional<sync::protocol::WipeOrder> wipe_order(const DeviceRecord& device) {
  if (!device.wipe_pending()) return std::nullopt;
  return sync::protocol::WipeOrder{static_cast<uint64_t>(device.wipe_requested_at), device.wipe_discard_unsynced};
}

Result<std::string> request_wipe(ServiceContext& ctx, const std::string& device_id, bool discard_unsynced) {
  std::string message;
  auto done = ctx.store.transaction([&]() -> Result<void> {
    auto found = ctx.store.devices().request_wipe(device_id, ctx.now(), discard_unsynced);
    if (!found) return found.error();
    if (!*found) return make_error(ErrorCode::not_found, "no device '" + device_id + "'");
    const std::string how = discard_unsynced ? "discarding what it cannot push" : "after it pushes its unsynced work";
    if (auto r = ctx.store.audit().append(AuditEvent{ctx.now(), "admin", device_id, "wipe-requested", "", how}); !r)
      return r;
    message = "wipe requested for device " + device_id + ": at its next contact it wipes its store (" + how +
              ") and acknowledges; `hearth-server devices` shows when";
    return {};
  });
  if (!done) return done.error();
  return message;
}

Answer<sync::protocol::WipeAckReply> acknowledge_wipe(ServiceContext& ctx, const DeviceRecord& device,
                                                      const sync::protocol::WipeAck& ack) {
  using A = Answer<sync::protocol::WipeAckReply>;
  if (device.wipe_acknowledged_at != 0)  // a repeated acknowledgement: its first answer was lost
    return A::ok(sync::protocol::WipeAckReply{static_cast<uint64_t>(device.wipe_acknowledged_at)});
  if (device.wipe_requested_at == 0) {
    ctx.audit(&device, "denied", "", "wipe acknowledgement without a wipe request");
    return A::fail(WireError::conflict, "no wipe was requested for device " + device.id);
  }
  const int64_t now = ctx.now();
  auto done = ctx.store.transaction([&]() -> Result<void> {
    auto changed = ctx.store.devices().acknowledge_wipe(device.id, now, static_cast<int64_t>(ack.unsynced_lost),
                                                        static_cast<int64_t>(ack.quarantined_lost));
    if (!changed) return changed.error();
    if (!*changed) return make_error(ErrorCode::conflict, "the wipe of device " + device.id + " is not pending");
    return ctx.store.audit().append(AuditEvent{
        now, device.practitioner, device.id, "wipe-acknowledged", "",
        "store wiped; " + std::to_string(ack.unsynced_lost) + " unsynced ops and " +
            std::to_string(ack.quarantined_lost) + " refused ops not acknowledged went with it; credential revoked"});
  });
  if (!done)
    return A::fail(done.error().code == ErrorCode::conflict ? WireError::conflict : WireError::server, done.error().message);
  return A::ok(sync::protocol::WipeAckReply{static_cast<uint64_t>(now)});
}

Result<std::vector<std::string>> device_lines(ServiceContext& ctx) {
  auto config = ctx.store.settings().current();
  if (!config) return config.error();
  auto devices = ctx.store.devices().devices();
  if (!devices) return devices.error();
  std::vector<std::string> out;
  for (const auto& d : *devices) {
    auto when = [](int64_t ms) { return ms == 0 ? std::string("never") : civil::format_datetime_seconds(ms); };
    std::string line = d.id + "  " + d.practitioner + "  enrolled " + when(d.enrolled_at) + "  last seen " +
                       when(d.last_seen) + "  last pull " + when(d.last_pull_at) + (d.revoked ? "  REVOKED" : "");
    if (d.wipe_requested_at != 0)
      line += "  wipe requested " + civil::format_datetime_seconds(d.wipe_requested_at) +
              (d.wipe_discard_unsynced ? " (discard unsynced)" : " (push unsynced first)");
    if (d.wipe_acknowledged_at != 0) {
      line += "  wipe acknowledged " + civil::format_datetime_seconds(d.wipe_acknowledged_at) + " (" +
              std::to_string(d.wipe_unsynced_lost) + " unsynced ops lost, " + std::to_string(d.wipe_quarantined_lost) +
              " refused ops lost)";
    } else if (d.wipe_requested_at != 0 || !d.revoked) {
      // Until the device acknowledges, its store unlocks offline at most until its lease ends.
      int64_t until = d.lease_until;
      if (until == 0 && d.last_pull_at != 0) until = d.last_pull_at + config->key_lease_ms();
      std::string lease = until == 0 ? std::string("no lease given yet")
                                     : (until <= ctx.now() ? "lease ended " : "lease until ") +
                                           civil::format_datetime_seconds(until);
      line += (d.wipe_requested_at != 0 ? "  wipe pending, " : "  ") + lease;
    }
    out.push_back(std::move(line));
  }
  return out;
}

}  // namespace hearth::server
