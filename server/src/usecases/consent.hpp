#pragma once
// Consent at the office (DOMAIN.md §6.6; issue 8, "a withdrawal can be recorded ... by office
// staff at the server"): a withdrawal written onto the family's ConsentRecord as authority ops
// (authority_write.hpp), and the family's consent records as the office reads them.
// Thread-safety: as ServiceContext (callers serialise).
#include <string>
#include <vector>

#include "authority_write.hpp"

namespace hearth::server {

struct Withdrawal {
  enum class Scope { full, purposes, recipients };
  std::string family;
  std::string consent;              // the ConsentRecord's id
  Scope scope = Scope::full;
  std::vector<std::string> items;   // recipients: Organisation ids; purposes: consent purposes
  std::string withdrawn_by;         // the Person of the family who withdrew
  std::string recorded_by;          // the practitioner who took the withdrawal
  std::string channel;              // withdrawal_channel: IN_PERSON, PHONE, WRITTEN, FORM
  std::string reason;               // optional
  std::string author = kOfficeAuthor;
};

// The withdrawal as ops on the ConsentRecord: the recipients or purposes added to
// withdrawn_recipients / withdrawn_purposes (add-wins: it beats a concurrent re-grant, C-12),
// withdrawal_scope, withdrawn_at (server time), withdrawn_by, withdrawal_recorded_by,
// withdrawal_channel, withdrawal_reason; in full, status WITHDRAWN (a transition where the
// schema gives ConsentRecord a lifecycle). Audited as "consent-withdraw".
// Errors, each naming the argument, and nothing written: a family the server holds no records
// of, a consent id that is not a ConsentRecord of the family, a withdrawn_by that is not a Person
// of the family (ErrorCode::not_found); an unknown practitioner or organisation (not_found); a
// channel or purpose the schema does not define, an empty list (invalid_argument); a record
// already withdrawn in full, or already withdrawn for every item given (conflict).
AuthorityWrite consent_withdrawal(const Withdrawal& w);

// One ConsentRecord as the office reads it (values as recorded; dates are ISO 8601 UTC).
struct ConsentSummary {
  std::string id;
  std::string given_by;  // "person-id (given names family name)" when the person is known
  std::vector<std::string> covers;  // persons, as given_by
  std::vector<std::string> purposes;
  std::vector<std::string> recipients;
  std::vector<std::string> withdrawn_recipients;
  std::vector<std::string> withdrawn_purposes;
  std::string status;
  std::string withdrawal_scope;
  std::string withdrawn_at;
  std::string withdrawn_by;   // the person, as given_by
  std::string withdrawal_recorded_by;  // the practitioner who recorded it
  std::string withdrawal_channel;
  std::string expires_at;
};

// The family's live consent records, by id. A family the server holds no records of is
// ErrorCode::not_found.
Result<std::vector<ConsentSummary>> consent_records(ServiceContext& ctx, const std::string& family);

}  // namespace hearth::server
