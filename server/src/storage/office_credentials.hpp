#pragma once
// Office credentials: bearer tokens for office systems (a case management system, a duty
// worker's desk) calling the server's office endpoints (docs/access.md, "Office endpoints").
// They are distinct from device credentials (devices.hpp): neither works where the other is
// asked for. Only a SHA-256 hash of each token is kept; the token is shown once, when issued.
// Thread-safety: not thread-safe; one Storage per connection, used by one thread at a time.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "hearth/core/error.hpp"

namespace hearth::server {

struct OfficeCredential {
  std::string name;       // who or what holds it, e.g. "case-system"
  int64_t issued_at = 0;  // server time
  std::optional<int64_t> revoked_at;
};

// A message the office sent to POST /v1/office/inbound (usecases/office_inbound.hpp), kept so a
// repeat of it is answered as the first time, never applied twice. Only ids are kept: the hash
// of the body, the family it touched and the answer (record and op ids, codes), no personal data.
struct InboundMessage {
  std::string id;         // the office's message_id
  std::string body_hash;  // SHA-256 hex of the body's canonical JSON
  int64_t at = 0;         // server time it was applied
  std::string credential; // the office credential's name
  std::string family;     // "" when it touched none
  std::string answer;     // the JSON answer given
};

class OfficeCredentials {
 public:
  virtual ~OfficeCredentials() = default;
  // Records a new credential under `name`. False (nothing written) when the name is taken,
  // revoked or not: a revoked name stays in the list, so a token is never silently replaced.
  virtual Result<bool> issue(const std::string& name, const std::string& token_hash, int64_t now) = 0;
  // The credential whose token hashes to `token_hash`, revoked or not; nullopt when none.
  virtual Result<std::optional<OfficeCredential>> by_token(const std::string& token_hash) = 0;
  // Every credential, by name.
  virtual Result<std::vector<OfficeCredential>> list() = 0;
  // Revokes the named credential. False when there is no such credential or it was revoked already.
  virtual Result<bool> revoke(const std::string& name, int64_t now) = 0;
  // The inbound message recorded under `id`, or nullopt.
  virtual Result<std::optional<InboundMessage>> inbound_message(const std::string& id) = 0;
  // Records an applied inbound message (in the caller's transaction). False when its id is taken.
  virtual Result<bool> record_inbound(const InboundMessage& m) = 0;
};

}  // namespace hearth::server
