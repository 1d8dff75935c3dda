#pragma once
// Push (POST /v1/push): the device's own ops, each checked (its device and author, the access
// policy, the family's merge state) and either appended to the op log in one transaction or
// refused with a reason; clocks guarded; quarantine reports recorded as flags for the lead.
#include "context.hpp"

namespace hearth::server {

Answer<sync::protocol::PushReply> push(ServiceContext& ctx, const DeviceRecord& device,
                                       const sync::protocol::PushRequest& request);

}  // namespace hearth::server
