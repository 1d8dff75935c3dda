// libFuzzer target: every decode_* of the /v1 codec (sync/protocol.hpp). The first byte picks
// the message and whether tight limits apply; the rest is the body. Any body must give a
// message or an error, never a crash or an exception; a message that decodes must encode to a
// body that decodes again (what the codec writes, it reads).
#include <cstdint>
#include <string>
#include <string_view>

#include "hearth/sync/protocol.hpp"

namespace {

using namespace hearth::sync::protocol;

template <typename M>
void round_trip(const hearth::Result<M>& decoded, hearth::Result<M> (*decode)(std::string_view, const Limits&)) {
  if (!decoded) return;
  std::string body = encode(decoded.value());
  // the default limits: a message decoded under tight limits must also pass the defaults
  if (!decode(body, Limits{})) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  Limits limits;
  if (data[0] & 0x80) {  // tight limits reach the limit paths with small inputs
    limits.json_depth = 3;
    limits.json_elements = 20;
    limits.cursors = 3;
    limits.enrol_bytes = 64;
  }
  switch (data[0] & 0x07) {
    case 0: round_trip(decode_error_reply(body, limits), decode_error_reply); break;
    case 1: round_trip(decode_enrol_request(body, limits), decode_enrol_request); break;
    case 2: round_trip(decode_enrol_reply(body, limits), decode_enrol_reply); break;
    case 3: round_trip(decode_push_request(body, limits), decode_push_request); break;
    case 4: round_trip(decode_push_reply(body, limits), decode_push_reply); break;
    case 5: round_trip(decode_pull_request(body, limits), decode_pull_request); break;
    case 6: round_trip(decode_pull_reply(body, limits), decode_pull_reply); break;
    case 7: round_trip(decode_health_reply(body, limits), decode_health_reply); break;
  }
  return 0;
}
