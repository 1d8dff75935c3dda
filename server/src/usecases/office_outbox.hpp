#pragma once
// What goes to the council's office system (DOMAIN.md §11, §11.1, §11.2), decided in the
// transaction that accepts each op (accepted.cpp store_accepted), so nothing the server holds
// is ever missing from the outbox and nothing is queued for an op that was rolled back.
//
// For every accepted op on a record of a type in the outbound contract (§11.1; the table is in
// office_outbox.cpp, kContract), the record as it now stands becomes one outbox item
// (storage/outbox.hpp) with:
//  - the §11.1 minimum set of its fields (Caldicott 3, minimum necessary), as the access
//    policy lets the office's role see them (core/access.hpp Viewer{office = true});
//  - the council's code mappings applied ("codes": the office's code for each mapped enum value);
//  - its revision (the op log's sequence number) and idempotency key "<record>:<revision>";
//  - "supplementary_to": the StepUpRequest id when the family has a step-up submitted (§13 S3:
//    later contacts reach CSC as supplementary updates);
//  - "office_ref": the office's own id for the record, once the office gave one.
// A newer revision replaces an undelivered older one (coalescing).
//
// Lawful basis (§6.2, §6.5, §6.6): the office is the council's own case system, so sending a
// record is processing under the council's public task; what stops it is the family's
// agreement to be registered on the council's system being withdrawn or refused. A record is
// NOT queued when one of the persons it is about (its subject fields; none: the whole family)
// is covered by a ConsentRecord for kOfficePurpose that is WITHDRAWN or REFUSED, or withdrawn
// for that purpose, unless an InformationSharingDecision to SHARE names the record in
// items_shared (an override authorises that disclosure only). Each such decision is audited
// ("office-withheld"). A step-up package is a safeguarding referral and goes regardless
// (§6.5 Golden Rules 1 and 3), with its consent position and information-sharing decision.
//
// Withdrawal (§6.6): when a ConsentRecord changes, the family's undelivered record items are
// re-checked in the same transaction and those the change now forbids are cancelled
// ("office-cancelled", audited); the repeater checks each item again just before it sends it.
//
// Step-up package (§11.1 "Step-up", §13 S3): when a StepUpRequest is SUBMITTED (or later) and
// no package was queued for it, a package item with priority 0 is queued: the request, its
// episode, the family's persons, assessments (with findings and the child's voice), plans
// (with outcomes and actions), reviews, the chronology of contacts, the consent records, the
// outcome star readings and the information-sharing decision(s), built from the family's merge
// state in the same transaction.
// Thread-safety: as ServiceContext (callers serialise); call inside a storage transaction.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "context.hpp"
#include "hearth/sync/op.hpp"

namespace hearth::server {

// The consent purpose whose withdrawal or refusal stops records going to the office
// (DOMAIN.md §6.1: registration on the council's index / case system).
inline constexpr const char* kOfficePurpose = "REGISTER_ON_INDEX";

// Queues what the accepted op `op` (sequence number `seq`) changed, as above. The op must
// already be applied to the family cache (FamilyCache::applied). Inside a transaction the
// records it changed are queued once each, at their newest revision, just before the commit
// (Storage::before_commit; ServiceContext::changed.office), so a push of many edits builds each
// item once and a step-up package holds everything its transaction recorded; outside one, at once.
Result<void> queue_for_office(ServiceContext& ctx, const sync::Op& op, int64_t seq);

// Queues every record of `family` (every family when "") at its current revision, as
// queue_for_office would have, each family in a transaction of its own: for a database that
// held records before the outbox existed, or an office connected later. Idempotent (an item
// with the same key is kept). Returns how many items were added.
Result<size_t> backfill_office(ServiceContext& ctx, const std::string& family);

// Why sending `item` now would not be lawful ("" when it still is), read from the family's
// current merge state: the repeater's check at send time.
Result<std::string> office_send_stop(ServiceContext& ctx, const OutboxItem& item);

// The record types of the outbound contract, with their §11.1 minimum fields.
const std::vector<std::pair<std::string, std::vector<std::string>>>& office_contract();

// The code-mapping fields an administrator may map: "Type.field" for every enum field of the
// contract. Errors name the field or value and list what is allowed.
Result<void> check_code_mapping(const std::string& field, const std::string& value);

}  // namespace hearth::server
