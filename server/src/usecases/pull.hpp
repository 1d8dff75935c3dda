#pragma once
// Pull (POST /v1/pull): the ops of every family the access policy lets the caller read, after
// the device's cursors, in pages bounded in bytes; purge instructions for families it may no
// longer hold; an unchanged feed answered at constant cost.
#include "context.hpp"

namespace hearth::server {

Answer<sync::protocol::PullReply> pull(ServiceContext& ctx, const DeviceRecord& device,
                                       const sync::protocol::PullRequest& request);

}  // namespace hearth::server
