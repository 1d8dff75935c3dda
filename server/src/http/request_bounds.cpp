#include "request_bounds.hpp"

#include <arpa/inet.h>

#include <cstdint>

namespace hearth::server {

std::vector<Route> v1_routes(const sync::protocol::Limits& limits) {
  return {
      Route{"GET", "/v1/health", 0},
      Route{"POST", "/v1/enrol", limits.enrol_bytes},
      Route{"POST", "/v1/push", limits.push_bytes},
      Route{"POST", "/v1/pull", kPullBodyBytes},
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
  size_t i = 0;
  while (i < text.size()) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if (c < 0x20 || c == 0x7f) return false;
      ++i;
      continue;
    }
    size_t extra = 0;
    uint32_t cp = 0;
    if ((c & 0xe0) == 0xc0) {
      extra = 1;
      cp = c & 0x1fu;
    } else if ((c & 0xf0) == 0xe0) {
      extra = 2;
      cp = c & 0x0fu;
    } else if ((c & 0xf8) == 0xf0) {
      extra = 3;
      cp = c & 0x07u;
    } else {
      return false;  // a continuation byte without a lead, or 0xf8..0xff
    }
    if (i + extra >= text.size()) return false;  // truncated sequence
    for (size_t k = 1; k <= extra; ++k) {
      auto cc = static_cast<unsigned char>(text[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3fu);
    }
    static constexpr uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[extra] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += extra + 1;
  }
  return true;
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
  std::string escaped;
  for (char c : message) {
    if (c == '"' || c == '\\') escaped.push_back('\\');
    if (static_cast<unsigned char>(c) >= 0x20) escaped.push_back(c);
  }
  return HttpResponse{status, "{\"error\":\"" + escaped + "\",\"code\":\"" + code + "\"}", "application/json"};
}

}  // namespace http_bounds
}  // namespace hearth::server
