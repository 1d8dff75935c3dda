#pragma once
// Ops the server writes itself, as the office does (issue 8: "hearth-server allocate and its
// siblings write ops to those records as the office does"): a team allocation, a consent
// withdrawal recorded at the office, the creator's TeamMember record of a new family.
//
// The edits are planned against the family's merge state as the write's own transaction reads
// it (the family cache), built with the Materialiser's builders (so they supersede exactly what
// the server holds), and each op gets:
//  - an id on the authority device kAuthorityDevice, its counter taken from the database in
//    the same transaction (OpLog::next_authority_counter, never read-modify-write);
//  - an HLC stamp from the server clock, after every op the server holds of the family;
//  - the author the caller names: a practitioner, or kOfficeAuthor.
// They are then stored exactly as an accepted push stores its ops (accepted.hpp: the op log's
// sequence numbers, the family cache, the team index), everyone on the family's team has their
// feed bumped, and one audit event names the records and the op ids. Devices receive them at
// their next pull like any other device's ops; no device may enrol as kAuthorityDevice.
// Thread-safety: as ServiceContext (callers serialise; SyncService::with_context).
#include <functional>
#include <string>
#include <vector>

#include "context.hpp"
#include "hearth/core/value.hpp"
#include "hearth/sync/materialiser.hpp"

namespace hearth::server {

// The device id of the ops the server writes as the office's authority. Restamps keep the
// device "server" (push.cpp). Both are reserved: enrol refuses them (enrol.cpp).
inline constexpr const char* kAuthorityDevice = "hearth-server";
// The author of office writes that name no practitioner.
inline constexpr const char* kOfficeAuthor = "office";

// One edit, in the terms of the Materialiser's builders (make_create, make_set, make_add,
// make_remove, make_transition, make_delete).
struct AuthorityEdit {
  enum class Kind { create, set, add, remove, transition, remove_record };
  Kind kind = Kind::set;
  std::string entity_type;  // create
  std::string entity_id;
  std::string field;        // set, add, remove
  Value value;              // set: the value; add, remove: the element; transition: the target state
  FieldValues fields;       // create: the initial values

  static AuthorityEdit create(std::string type, std::string id, FieldValues fields);
  static AuthorityEdit set(std::string id, std::string field, Value value);
  static AuthorityEdit add(std::string id, std::string field, std::string element);
  static AuthorityEdit remove(std::string id, std::string field, std::string element);
  static AuthorityEdit transition(std::string id, std::string to);
  static AuthorityEdit remove_record(std::string id);  // a Delete of the record
};

// A write to one family. `plan` reads the family's merge state (and the directory, through
// ctx) inside the transaction and returns the edits, in order (a later edit sees the earlier
// ones applied), or an error naming the argument at fault; no edits means nothing to do.
struct AuthorityWrite {
  std::string family;
  std::string author;  // a practitioner id, or kOfficeAuthor
  std::string action;  // the audit event's action, e.g. "allocate", "consent-withdraw"
  std::string detail;  // the audit event's detail; the record ids and op ids are added to it
  std::function<Result<std::vector<AuthorityEdit>>(ServiceContext& ctx, const sync::Materialiser& merged)> plan;
};

// Writes `write` inside the caller's storage transaction (a push writes a new family's
// creator this way); returns the new op ids ("hearth-server:N"), in order. On an error the
// caller rolls back and forgets the family's cache entry.
Result<std::vector<std::string>> write_as_authority(ServiceContext& ctx, const AuthorityWrite& write);

// Writes every one of `writes` in one transaction of its own: all of them or, on any error,
// nothing (the families' cache entries are dropped). Returns every new op id, in order.
Result<std::vector<std::string>> authority_write(ServiceContext& ctx, const std::vector<AuthorityWrite>& writes);

// A server time as a schema DateTime ("2026-11-30T19:06:51.123Z", UTC).
std::string datetime_of(int64_t ms_since_epoch);

}  // namespace hearth::server
