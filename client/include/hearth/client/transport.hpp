#pragma once
// How the sync engine talks to hearth-server. The libcurl implementation is the default;
// tests substitute their own.
// Thread-safety: confined; one transport per sync engine (it keeps one connection alive).
#include <cstdint>
#include <memory>
#include <string>

#include "hearth/core/error.hpp"

namespace hearth::client {

struct HttpReply {
  long status = 0;
  std::string body;  // decompressed
  std::string content_type = {};  // the answer's Content-Type ("" when the transport does not say)
};

class Transport {
 public:
  virtual ~Transport() = default;
  // POSTs a JSON body to `path` (e.g. "/v1/push"). A network or TLS failure is an
  // ErrorCode::network error naming the cause; any HTTP status is a reply.
  virtual Result<HttpReply> post(const std::string& path, const std::string& json, const std::string& bearer) = 0;
  // Whether post_as carries other bodies than JSON and reports the answer's content_type
  // (docs/protocol.md, "Framed op batches"). A transport that does not override both speaks
  // JSON only, and the sync engine sends it JSON only.
  virtual bool carries_frames() const { return false; }
  // POSTs `body` of media type `content_type`, asking for an answer of the types `accept`
  // names (an Accept header value).
  virtual Result<HttpReply> post_as(const std::string& path, const std::string& body, const std::string& bearer,
                                    const std::string& content_type, const std::string& accept) {
    (void)content_type;
    (void)accept;
    return post(path, body, bearer);
  }
  virtual uint64_t bytes_sent() const = 0;
  virtual uint64_t bytes_received() const = 0;
};

struct CurlOptions {
  std::string base_url;  // https://host:port
  std::string ca_pem;    // the organisation CA pinned at enrolment; nothing else is trusted
  long connect_timeout_ms = 10000;
  long timeout_ms = 120000;
  bool allow_plain_http = false;  // tests only
  int protocol = 1;               // the Hearth-Protocol version this build speaks
};

Result<std::unique_ptr<Transport>> make_curl_transport(const CurlOptions& options);

}  // namespace hearth::client
