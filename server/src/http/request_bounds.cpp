#include "request_bounds.hpp"

#include <arpa/inet.h>

#include <cstdint>

#include "hearth/core/text.hpp"
#include "hearth/sync/protocol.hpp"

namespace hearth::server {

std::vector<Route> v1_routes(const sync::protocol::Limits& limits) {
  return {
      Route{"GET", "/v1/health", 0},
      Route{"POST", "/v1/enrol", limits.enrol_bytes},
      Route{"POST", "/v1/push", limits.push_bytes},
      Route{"POST", "/v1/pull", kPullBodyBytes},
      Route{"POST", "/v1/break-glass", limits.enrol_bytes},  // emergency access: a small body
      Route{"POST", "/v1/wipe/ack", limits.enrol_bytes},     // a wiped device's acknowledgement (N5)
      Route{"POST", "/v1/office/consent/withdraw", kOfficeBodyBytes},
      Route{"POST", "/v1/office/feed", kOfficeBodyBytes},          // the office's pull feed: a cursor and a limit
      Route{"POST", "/v1/office/feed/ack", kOfficeAckBodyBytes},   // acknowledgements with office ids
      Route{"POST", "/v1/office/inbound", kOfficeBodyBytes},  // step-up decisions, statuses, ids, merges
  };
}

bool is_loopback_address(const std::string& host) {
  if (host == "localhost") return true;
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) return IN6_IS_ADDR_LOOPBACK(&v6);
  return false;
}

namespace http_bounds {

bool valid_text(std::string_view text) {
  for (char c : text)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
  return is_valid_utf8(text);
}

namespace {
int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
std::string trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return {};
  size_t e = s.find_last_not_of(" \t");
  return std::string(s.substr(b, e - b + 1));
}
}  // namespace

std::optional<std::string> decode_path(std::string_view encoded) {
  std::string out;
  out.reserve(encoded.size());
  for (size_t i = 0; i < encoded.size(); ++i) {
    if (encoded[i] != '%') {
      out.push_back(encoded[i]);
      continue;
    }
    if (i + 2 >= encoded.size()) return std::nullopt;
    int hi = hex_value(encoded[i + 1]), lo = hex_value(encoded[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  if (!valid_text(out)) return std::nullopt;
  return out;
}

RouteMatch match_route(const std::vector<Route>& routes, const std::string& method, const std::string& path) {
  RouteMatch m;
  for (const auto& r : routes) {
    if (r.path == path) m.path_known = true;
    if (r.method == method) m.method_known = true;
    if (r.path == path && r.method == method) m.route = &r;
  }
  return m;
}

std::string allowed_methods(const std::vector<Route>& routes, const std::string& path) {
  std::string out;
  for (const auto& r : routes)
    if (r.path == path && out.find(r.method) == std::string::npos) out += (out.empty() ? "" : ", ") + r.method;
  return out;
}

std::string client_address(const std::string& peer, const std::string& forwarded_for, bool trust) {
  if (!trust || forwarded_for.empty() || !is_loopback_address(peer)) return peer;
  size_t comma = forwarded_for.rfind(',');
  std::string last = trim(comma == std::string::npos ? std::string_view(forwarded_for)
                                                     : std::string_view(forwarded_for).substr(comma + 1));
  in_addr v4{};
  in6_addr v6{};
  if (inet_pton(AF_INET, last.c_str(), &v4) == 1 || inet_pton(AF_INET6, last.c_str(), &v6) == 1) return last;
  return peer;
}

HttpResponse wire_error(int status, const char* code, const std::string& message) {
  namespace protocol = sync::protocol;
  auto known = protocol::wire_error_from_string(code);
  return HttpResponse{status, protocol::encode(protocol::ErrorReply{known.value_or(protocol::WireError::bad_request), message}),
                      "application/json"};
}

}  // namespace http_bounds
}  // namespace hearth::server
