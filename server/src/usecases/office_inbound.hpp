#pragma once
// Inbound from the office (DOMAIN.md §11.2; issue 10 part 2): POST /v1/office/inbound, called by
// the council's case system with an office credential (office.hpp office_caller). Each message
// becomes server-authority ops (authority_write.hpp, author kOfficeAuthor) and an audit event
// naming the message id and the credential.
//
// Idempotent by the office's message_id: the first successful answer is kept
// (storage/office_credentials.hpp InboundMessage) and a repeat of the same message (the same
// JSON, whitespace and key order aside) gets that answer again, with nothing written; the same
// message_id with a different body is refused (409 conflict). A refused message is not kept:
// the office may correct it and send it again under the same id.
//
// The body, a JSON object of at most kOfficeBodyBytes (http/request_bounds.hpp):
//   {"message_id": ID, "kind": KIND, ...}
// KIND and its fields ("family" is optional everywhere: the server finds the record's family):
//   "step_up_decision": "step_up" ID (a StepUpRequest), "csc_decision" (ACCEPTED_S17_ASSESSMENT |
//       ACCEPTED_S47_STRATEGY | ADVICE_RETURN_TO_EH | NFA_RETURN_TO_EH | WITHDRAWN), "csc_ref"
//       string?, "decided_at" DateTime? (default: the server's time) -> step_up.hpp
//   "statutory_status": "person" ID, "status" (NONE | CIN_PLAN | CP_PLAN | LOOKED_AFTER |
//       UNKNOWN): the child's social-care status, Person.statutory_status (§3.3, §11.2)
//   "office_ids": "person" ID + "office_person_id" string, and/or "episode" ID +
//       "office_episode_id" string: Person.office_person_id, EarlyHelpEpisode.office_episode_id
//   "person_merge": "keep" ID, "merged_away" ID, "by"? (a team manager; default the office),
//       "reason"? (text; default "merged at the office system, message ID"): the person merge
//       of usecases/person_merge.hpp (S5), which re-points every reference.
// Answer 200: {"message_id", "kind", "family", "ops": ["hearth-server:N", ...], "message"}.
// Errors (the protocol's error body, {"error": message, "code": CODE}): 400 bad_request (not
// JSON, unknown kind, a field missing or malformed, named; a merge of a person into itself),
// 401 unauthorised (office credential), 403 forbidden (a merge by someone not a manager), 404
// not_found (no such record), 409 conflict (message_id reused with another body; a step-up
// already decided; a person merged elsewhere), 413 too_large. Every refusal is audited.
// Thread-safety: as ServiceContext (callers serialise).
#include <string>
#include <vector>

#include "context.hpp"
#include "hearth/server/http.hpp"

namespace hearth::server {

// Handles one inbound message: `body` from the office credential `credential` at `remote`.
// The caller has authenticated the credential.
HttpResponse office_inbound(ServiceContext& ctx, const std::string& body, const std::string& credential,
                            const std::string& remote);

}  // namespace hearth::server
