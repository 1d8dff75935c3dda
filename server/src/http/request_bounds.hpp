#pragma once
// The framework-independent checks of the HTTP adapter: decoding the path, validating text,
// choosing the route, the client's address behind a proxy, and the wire error body. Used by
// cpprest_server.cpp; pure functions, no I/O.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hearth/server/http.hpp"

namespace hearth::server::http_bounds {

// True when `text` is well-formed UTF-8 (no overlong forms, no surrogates, at most U+10FFFF)
// and holds no control character (U+0000..U+001F, U+007F).
bool valid_text(std::string_view text);

// Percent-decodes a request path. Empty when a '%' is not followed by two hex digits or the
// decoded bytes are not valid_text.
std::optional<std::string> decode_path(std::string_view encoded);

// The routes for `path`: the one for `method`, and whether any route has this path.
struct RouteMatch {
  const Route* route = nullptr;  // path and method both match
  bool path_known = false;       // some route has this path (another method: 405)
  bool method_known = false;     // some route uses this method (an unknown path: 404 by the handler)
};
RouteMatch match_route(const std::vector<Route>& routes, const std::string& method, const std::string& path);

// The methods allowed on `path`, for the Allow header of a 405 ("GET", "POST", "GET, POST").
std::string allowed_methods(const std::vector<Route>& routes, const std::string& path);

// The client's address for the audit: `peer`, unless `trust` is set, `peer` is a loopback address
// and `forwarded_for` (X-Forwarded-For) ends with a valid IPv4 or IPv6 address.
std::string client_address(const std::string& peer, const std::string& forwarded_for, bool trust);

// {"error": message, "code": code}, written by the protocol codec (sync/protocol.hpp ErrorReply);
// `code` is a WireError name. `message` is always the adapter's own text, never client input.
HttpResponse wire_error(int status, const char* code, const std::string& message);

}  // namespace hearth::server::http_bounds
