#pragma once
// Devices that are lost (N5) as the office handles them: a remote wipe the office asks for
// (`hearth-server wipe`), carried to the device in every push and pull answer until the device
// acknowledges it (POST /v1/wipe/ack), and the key lease each device holds, shown by
// `hearth-server devices`. docs/protocol.md ("Remote wipe"), docs/encryption.md ("Key lease").
// Thread-safety: as the service context (run under the sync service's lock).
#include <optional>
#include <string>
#include <vector>

#include "context.hpp"
#include "hearth/sync/protocol.hpp"

namespace hearth::server {

// The order to send the device with its answers: set while a wipe is requested and not yet
// acknowledged.
std::optional<sync::protocol::WipeOrder> wipe_order(const DeviceRecord& device);

// Records the office's request to wipe the device at its next contact, audited as
// "wipe-requested" (admin). With discard_unsynced the device wipes even when it cannot push
// its unsynced work first. Errors: not_found (no such device), conflict (revoked already, or
// the wipe was acknowledged). Returns what was done, in words.
Result<std::string> request_wipe(ServiceContext& ctx, const std::string& device_id, bool discard_unsynced);

// The device says its store is wiped: marks the wipe acknowledged, revokes the credential and
// audits it as "wipe-acknowledged" with what went with it that was on no server. A device whose
// acknowledgement was recorded already gets the same answer again (its first answer may have
// been lost). Refused with conflict when no wipe was requested for the device.
Answer<sync::protocol::WipeAckReply> acknowledge_wipe(ServiceContext& ctx, const DeviceRecord& device,
                                                      const sync::protocol::WipeAck& ack);

// One line per device for `hearth-server devices`: the id, practitioner, enrolment, last seen,
// last pull (ms since the epoch, as before) and REVOKED, then the wipe's state (requested, with
// or without discarding unsynced work; acknowledged, with what went with it) or, for a device
// still in service, the end of its key lease (N5): after it the device can no longer unlock
// its store without a sync. The lease end is the one the server last gave it, or, for a device
// that has not pulled since the lease existed, its last pull plus the tenant's key_lease_days.
Result<std::vector<std::string>> device_lines(ServiceContext& ctx);

}  // namespace hearth::server
