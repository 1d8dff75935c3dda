#pragma once
// Storing an op the server has accepted, the same way whether a device pushed it or the server
// wrote it as the office's authority (authority_write.hpp): appended to the op log (the
// database gives its sequence number), applied to the family's cached merge state, and, when it
// changes who is on the family's team, the team index brought into line with the records in the
// same transaction (team_index.hpp); and queued for the office (office_outbox.hpp).
// Thread-safety: as ServiceContext (callers serialise); call inside a storage transaction.
#include <cstdint>
#include <string>

#include "context.hpp"
#include "hearth/sync/op.hpp"

namespace hearth::server {

// Appends `op` (encoded as `bytes`); returns its sequence number. A second op with the same id
// is ErrorCode::conflict.
Result<int64_t> store_accepted(ServiceContext& ctx, const sync::Op& op, const std::string& bytes);

// Everyone currently on the family's team sees the change at their next sync.
Result<void> bump_team_feeds(ServiceContext& ctx, const std::string& family);

}  // namespace hearth::server
