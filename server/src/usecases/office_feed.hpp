#pragma once
// The pull feed of the office outbox (DOMAIN.md §11.2; docs/office.md): the office system reads
// the items queued for it after its own cursor, a bounded page at a time, and acknowledges
// them, giving its own id for each record (office_ref). Both calls need the office credential
// (usecases/office.hpp office_caller); the HTTP routes are in sync_service.cpp.
//
// POST /v1/office/feed, body {"after": N, "limit": M}  (both optional: 0 and 100; M 1..500)
//   200 {"items": [ITEM...], "priority": [ITEM...], "next_cursor": N, "more": true|false}
//   "items": record items with seq > after, in seq order (at most M). "priority": every step-up
//   package not yet acknowledged (at most M), on every page until acknowledged: read them
//   first. "next_cursor": the seq of the last item in "items" (else `after`): the next call's
//   "after". "more": another page is waiting. Cancelled items (a withdrawal, §6.6) never appear.
//   ITEM is the queued JSON (office_outbox.hpp) with "seq" and "priority" added:
//   {"seq", "priority", "key", "kind": "record"|"package", "record", "type", "family", "revision",
//    "changed_at", "deleted", "fields"?, "codes"?, "unmapped"?, "supplementary_to"?, "office_ref"?,
//    "package"?}
//   Each item served is written to the disclosure log (recipient: the credential's name,
//   channel "pull") the first time, and audited per family ("office-disclosed").
//
// POST /v1/office/feed/ack, body {"acks": [{"key": "REC:REV", "office_ref": "ID"?}, ...]} (at most 500)
//   200 {"results": [{"key", "status": "acknowledged"|"already"|"unknown", "office_ref_stored": bool}]}
//   Repeating an acknowledgement is harmless ("already"; the office_ref is stored again only if
//   it changed). Audited per family ("office-ack").
// Errors: a body that is not the shape above is ErrorCode::invalid_argument naming the field.
// Thread-safety: as ServiceContext (callers serialise).
#include <string>

#include "context.hpp"

namespace hearth::server {

inline constexpr const char* kOfficeFeedPath = "/v1/office/feed";
inline constexpr const char* kOfficeFeedAckPath = "/v1/office/feed/ack";
inline constexpr size_t kFeedDefaultLimit = 100;
inline constexpr size_t kFeedMaxLimit = 500;
inline constexpr size_t kAckMaxItems = 500;

// One page of the feed for the credential `office` (its name), as the JSON text above.
Result<std::string> office_feed_page(ServiceContext& ctx, const std::string& office, const std::string& body);

// Acknowledgements from the credential `office`, answered as the JSON text above.
Result<std::string> office_feed_ack(ServiceContext& ctx, const std::string& office, const std::string& body);

// Stores the office's id for the record of `item` given by `by` (an ack, or a repeater
// answer). Returns whether it was new or changed. In the caller's transaction.
Result<bool> store_office_ref(ServiceContext& ctx, const OutboxItem& item, const std::string& office_ref,
                              const std::string& by);

}  // namespace hearth::server
