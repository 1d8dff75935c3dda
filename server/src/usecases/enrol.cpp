#include "enrol.hpp"

#include "authority_write.hpp"

#include "hearth/core/text.hpp"
#include "hearth/platform/encoding.hpp"

namespace hearth::server {

using sync::protocol::WireError;

Answer<sync::protocol::EnrolReply> enrol(ServiceContext& ctx, const sync::protocol::EnrolRequest& request,
                                         const std::string& remote) {
  using A = Answer<sync::protocol::EnrolReply>;
  if (auto ok = check_id("device_id", request.device_id); !ok) return A::fail(WireError::bad_request, ok.error().message);
  // The server's own devices: restamps ("server") and the office's authority ops (kAuthorityDevice).
  if (request.device_id == "server" || request.device_id == kAuthorityDevice)
    return A::fail(WireError::bad_request, "device id '" + request.device_id + "' is reserved for the server's own ops");
  auto drawn = platform::random_hex(32);
  if (!drawn) return A::fail(WireError::server, drawn.error().message);
  std::string token = std::move(drawn.value());
  std::string practitioner;
  bool spent = false;
  auto done = ctx.store.transaction([&]() -> Result<void> {
    auto who = ctx.store.devices().spend_enrol_code(platform::sha256_hex(request.code), ctx.now());
    if (!who) return who.error();
    if (!*who) return {};
    // A code for someone else is refused before anything is kept: the rollback leaves the code
    // unspent and the device unenrolled, so the right code still enrols it.
    if (!request.practitioner_id.empty() && **who != request.practitioner_id)
      return make_error(ErrorCode::conflict, "this enrolment code was issued for another practitioner, not for " +
                                                 request.practitioner_id + "; the code is still valid for its owner");
    spent = true;
    practitioner = **who;
    int64_t now = ctx.now();
    if (auto a = ctx.store.devices().add_device(request.device_id, practitioner, platform::sha256_hex(token), now,
                                                now + ctx.limits.credential_ttl_ms);
        !a)
      return a;
    return ctx.store.audit().append(AuditEvent{now, practitioner, request.device_id, "enrol", "", ""});
  });
  if (!done)
    return A::fail(done.error().code == ErrorCode::conflict ? WireError::conflict : WireError::server,
                   done.error().message);
  if (!spent) {
    ctx.audit(nullptr, "denied", "", "enrolment with an unknown, spent or expired code from " + remote);
    return A::fail(WireError::bad_code, "the enrolment code is unknown, already used or expired; ask for a new one");
  }
  sync::protocol::EnrolReply reply;
  reply.device_token = token;
  reply.practitioner_id = practitioner;
  reply.server_time_ms = ctx.clock();
  auto history = ctx.history("", nullptr);
  if (!history) return A::fail(WireError::server, history.error().message);
  reply.history = *history;
  reply.max_push_bytes = ctx.limits.wire.push_bytes;
  reply.max_op_bytes = ctx.limits.wire.op_bytes;
  return A::ok(std::move(reply));
}

Result<std::string> issue_enrol_code(ServiceContext& ctx, const std::string& practitioner) {
  auto known = ctx.store.caseload().practitioner_exists(practitioner);
  if (!known) return known.error();
  if (!*known) return make_error(ErrorCode::not_found, "no practitioner '" + practitioner + "'");
  auto drawn = platform::random_hex(10);
  if (!drawn) return drawn.error();
  const std::string& code = *drawn;
  auto r = ctx.store.transaction([&]() -> Result<void> {
    if (auto a = ctx.store.devices().add_enrol_code(platform::sha256_hex(code), practitioner,
                                                    ctx.now() + ctx.limits.enrol_code_ttl_ms);
        !a)
      return a;
    return ctx.store.audit().append(AuditEvent{ctx.now(), "admin", "", "enrol-code", "", practitioner});
  });
  if (!r) return r.error();
  return code;
}

}  // namespace hearth::server
