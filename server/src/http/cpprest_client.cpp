// cpprestsdk's http_client for the server's outbound calls (hearth/server/http_client.hpp).
// A translation unit of its own, like cpprest_server.cpp (TOOLCHAIN.md §3: slow to compile,
// defines macros); every exception ends here as an Error.
#include <cpprest/http_client.h>

#include <boost/asio/ssl.hpp>
#include <stdexcept>

#include "hearth/server/http.hpp"
#include "hearth/server/http_client.hpp"

namespace hearth::server {

Result<HttpPostReply> http_post(const HttpPostRequest& request) {
  namespace http = web::http;
  try {
    web::uri uri(request.url);
    const std::string scheme = uri.scheme();
    if (scheme != "https" && scheme != "http")
      return make_error(ErrorCode::invalid_argument, "the office endpoint URL must start with https:// (got " +
                                                         request.url + ")");
    if (scheme == "http" && !is_loopback_address(uri.host()))
      return make_error(ErrorCode::invalid_argument,
                        "plain http:// is allowed to a loopback address only; use https:// for " + request.url);
    http::client::http_client_config config;
    config.set_timeout(std::chrono::milliseconds(request.timeout_ms));
    config.set_validate_certificates(true);
    const std::string ca = request.ca_file;
    config.set_ssl_context_callback([ca](boost::asio::ssl::context& ctx) {
      ctx.set_options(boost::asio::ssl::context::no_sslv2 | boost::asio::ssl::context::no_sslv3 |
                      boost::asio::ssl::context::no_tlsv1 | boost::asio::ssl::context::no_tlsv1_1);
      if (!ca.empty()) ctx.load_verify_file(ca);
    });
    http::client::http_client client(web::uri(uri.scheme() + "://" + uri.authority().host() + ":" +
                                              std::to_string(uri.port() > 0 ? uri.port() : (scheme == "https" ? 443 : 80))),
                                     config);
    http::http_request req(http::methods::POST);
    req.set_request_uri(uri.resource());
    for (const auto& [name, value] : request.headers) req.headers().add(name, value);
    // One connection per post: a pooled connection the peer closed while idle is never reused
    // (posts are infrequent; the office may close idle connections at any time).
    req.headers().add("Connection", "close");
    req.set_body(request.body, request.content_type);
    http::http_response resp = client.request(req).get();
    HttpPostReply reply;
    reply.status = resp.status_code();
    std::vector<unsigned char> bytes = resp.extract_vector().get();
    reply.body.assign(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(std::min(bytes.size(), request.max_reply_bytes)));
    return reply;
  } catch (const std::exception& e) {
    return make_error(ErrorCode::network, "POST " + request.url + ": " + e.what());
  } catch (...) {
    return make_error(ErrorCode::network, "POST " + request.url + ": unknown failure");
  }
}

}  // namespace hearth::server
