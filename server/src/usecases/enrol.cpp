#include "enrol.hpp"

#include "hearth/platform/encoding.hpp"

namespace hearth::server {

using sync::protocol::WireError;

Answer<sync::protocol::EnrolReply> enrol(ServiceContext& ctx, const sync::protocol::EnrolRequest& request,
                                         const std::string& remote) {
  using A = Answer<sync::protocol::EnrolReply>;
  if (request.device_id.empty() || request.device_id.size() > 64)
    return A::fail(WireError::bad_request, "device_id must be 1 to 64 characters");
  std::string token = platform::random_hex(32);
  std::string practitioner;
  bool spent = false;
  auto done = ctx.store.transaction([&]() -> Result<void> {
    auto who = ctx.store.devices().spend_enrol_code(platform::sha256_hex(request.code), ctx.now());
    if (!who) return who.error();
    if (!*who) return {};
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
  auto history = ctx.history(false, nullptr, "");
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
  std::string code = platform::random_hex(10);
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
