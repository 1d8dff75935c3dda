// libFuzzer target: every decode_* of the /v1 codec (sync/protocol.hpp). The first byte picks
// the message, whether tight limits apply (0x80) and, for a push body and a pull answer,
// whether the body is framed (0x40, docs/protocol.md "Framed op batches"); the rest is the
// body. Any body must give a message or an error, never a crash or an exception; a message
// that decodes must encode to a body that decodes again (what the codec writes, it reads),
// and a framed message must read the same as JSON and framed again.
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

// A framed message decoded: framed again and as JSON, it reads back with the same ops.
template <typename M>
void framed_round_trip(const hearth::Result<M>& decoded, hearth::Result<M> (*decode_framed)(std::string_view, const Limits&),
                       hearth::Result<M> (*decode_json)(std::string_view, const Limits&)) {
  if (!decoded) return;
  const std::string json_body = encode(decoded.value());
  auto again = decode_framed(encode_framed(decoded.value()), Limits{});
  if (!again || encode(again.value()) != json_body) __builtin_trap();
  if (json_body.size() > Limits{}.push_bytes) return;  // base64 makes the JSON form larger than the frame
  auto as_json = decode_json(json_body, Limits{});
  if (!as_json || encode(as_json.value()) != json_body) __builtin_trap();
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
  if (data[0] & 0x40) {  // framed bodies: a push and a pull answer
    if (data[0] & 0x01)
      framed_round_trip(decode_framed_push_request(body, limits), decode_framed_push_request, decode_push_request);
    else
      framed_round_trip(decode_framed_pull_reply(body, limits), decode_framed_pull_reply, decode_pull_reply);
    return 0;
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
