#pragma once
// The office credential and the office endpoints (docs/access.md, "Office endpoints"): an office
// system (a case management system, a duty desk) calls the server over HTTPS with a bearer token
// issued by `hearth-server office-credential issue`, distinct from every device credential.
// The token is shown once and only its SHA-256 is stored (storage/office_credentials.hpp).
// Thread-safety: as ServiceContext (callers serialise).
#include <string>

#include "consent.hpp"
#include "context.hpp"

namespace hearth::server {

// Issues a credential named `name` (an id, core/text.hpp) and returns its token (printed once).
// Errors: a name already issued, revoked or not (conflict); a name that is not an id
// (invalid_argument). Audited as "office-credential-issue".
Result<std::string> issue_office_credential(ServiceContext& ctx, const std::string& name);

// Revokes it: every later request with its token is refused. not_found for an unknown or
// already revoked name. Audited as "office-credential-revoke".
Result<void> revoke_office_credential(ServiceContext& ctx, const std::string& name);

// The credential behind an `Authorization: Bearer <token>` header value, or the refusal:
// ErrorCode::forbidden naming what is wrong (absent, unknown, revoked: answered 401). Refusals are
// audited ("denied") with `path` and `remote`. A device credential is unknown here.
Result<OfficeCredential> office_caller(ServiceContext& ctx, const std::string& authorization, const std::string& path,
                                       const std::string& remote);

// POST /v1/office/consent/withdraw: the body's JSON object carries the arguments of
// `hearth-server consent withdraw` (usecases/consent.hpp Withdrawal):
//   {"family", "consent", "recipients": [ORG...] | "purposes": [P...] | "full": true,
//    "withdrawn_by", "recorded_by", "channel", "reason"?, "by"?}
// ("by": the practitioner who enters it; default the office). Returns the parsed withdrawal,
// or invalid_argument naming the field at fault.
Result<Withdrawal> withdrawal_from_json(const std::string& body);

// The use cases' messages name the command line's options ("--withdrawn-by: ..."); for the
// office endpoint the same message names the body's fields instead ("withdrawn_by: ...").
std::string with_field_names(const std::string& message);

}  // namespace hearth::server
