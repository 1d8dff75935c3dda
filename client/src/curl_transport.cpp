// libcurl transport (TOOLCHAIN.md §3.3): HTTPS 1.1 with keep-alive, the enrolment CA as the
// only trust anchor (CAPATH cleared: Debian's libcurl also trusts /etc/ssl/certs otherwise),
// TLS 1.2+, gzip both ways, no `Expect: 100-continue` (the server never answers it).
#include <curl/curl.h>
#include <openssl/x509_vfy.h>

#include <ctime>
#include <mutex>

#include <optional>

#include "hearth/client/transport.hpp"
#include "hearth/platform/gzip.hpp"

namespace hearth::client {

namespace {

// A certificate that is "not yet valid" or "expired" by this device's clock is, on a tablet,
// nearly always a wrong device clock: said as such (ErrorCode::clock), not as a lost connection.
std::optional<Error> clock_problem(CURL* h, CURLcode rc, const std::string& base_url, const char* detail) {
  if (rc != CURLE_PEER_FAILED_VERIFICATION && rc != CURLE_SSL_CACERT_BADFILE && rc != CURLE_SSL_CONNECT_ERROR)
    return std::nullopt;
  long verify = X509_V_OK;
  curl_easy_getinfo(h, CURLINFO_SSL_VERIFYRESULT, &verify);
  std::string text = detail;
  bool not_yet = verify == X509_V_ERR_CERT_NOT_YET_VALID || text.find("not yet valid") != std::string::npos;
  bool expired = verify == X509_V_ERR_CERT_HAS_EXPIRED || text.find("has expired") != std::string::npos;
  if (!not_yet && !expired) return std::nullopt;
  char now[32] = "?";
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  if (gmtime_r(&t, &tm)) std::strftime(now, sizeof now, "%Y-%m-%d %H:%M UTC", &tm);
  return make_error(ErrorCode::clock, std::string("cannot reach ") + base_url + ": the server's certificate is " +
                                          (not_yet ? "not yet valid" : "expired") + " by this device's clock (" + now +
                                          "); if that date is wrong, correct the device's date and time");
}

size_t collect(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

class CurlTransport final : public Transport {
 public:
  explicit CurlTransport(CurlOptions o) : options_(std::move(o)) {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
    handle_ = curl_easy_init();
  }
  ~CurlTransport() override {
    if (handle_) curl_easy_cleanup(handle_);
  }

  Result<HttpReply> post(const std::string& path, const std::string& json, const std::string& bearer) override {
    return post_as(path, json, bearer, "application/json", "");
  }
  bool carries_frames() const override { return true; }
  Result<HttpReply> post_as(const std::string& path, const std::string& plain, const std::string& bearer,
                            const std::string& content_type, const std::string& accept) override {
    if (!handle_) return make_error(ErrorCode::network, "libcurl could not start");
    CURL* h = handle_;
    std::string url = options_.base_url + path;
    // Small bodies (a probe, an empty push) go as they are: gzip's header and trailer would
    // make them larger, and the CPU is better spent elsewhere (platform/gzip.hpp).
    const bool compress = platform::worth_compressing(plain.size());
    std::string body = compress ? platform::gzip(plain) : plain;
    std::string response;
    curl_slist* headers = nullptr;
    const std::string type_header = "Content-Type: " + content_type;
    headers = curl_slist_append(headers, type_header.c_str());
    const std::string accept_header = "Accept: " + accept;
    if (!accept.empty()) headers = curl_slist_append(headers, accept_header.c_str());
    if (compress) headers = curl_slist_append(headers, "Content-Encoding: gzip");
    headers = curl_slist_append(headers, "Expect:");
    std::string protocol = "Hearth-Protocol: " + std::to_string(options_.protocol);
    headers = curl_slist_append(headers, protocol.c_str());
    std::string auth = "Authorization: Bearer " + bearer;
    if (!bearer.empty()) headers = curl_slist_append(headers, auth.c_str());
    curl_blob ca{const_cast<char*>(options_.ca_pem.data()), options_.ca_pem.size(), CURL_BLOB_COPY};

    curl_easy_reset(h);  // keeps the live connection; clears options
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, options_.allow_plain_http ? "https,http" : "https");
    curl_easy_setopt(h, CURLOPT_CAINFO, nullptr);
    curl_easy_setopt(h, CURLOPT_CAPATH, nullptr);
    curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &ca);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(h, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, options_.connect_timeout_ms);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, options_.timeout_ms);
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "gzip");
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &response);
    char detail[CURL_ERROR_SIZE] = {0};
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, detail);
    CURLcode rc = curl_easy_perform(h);
    curl_slist_free_all(headers);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, nullptr);  // `detail` ends with this call
    if (rc != CURLE_OK) {
      if (auto clock = clock_problem(h, rc, options_.base_url, detail)) return *clock;
      return make_error(ErrorCode::network, "cannot reach " + options_.base_url + ": " + curl_easy_strerror(rc) +
                                                (detail[0] ? std::string(" (") + detail + ")" : std::string()));
    }
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    char* type = nullptr;
    curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &type);
    curl_off_t up = 0, down = 0;
    curl_easy_getinfo(h, CURLINFO_SIZE_UPLOAD_T, &up);
    curl_easy_getinfo(h, CURLINFO_SIZE_DOWNLOAD_T, &down);
    sent_ += static_cast<uint64_t>(up);
    received_ += static_cast<uint64_t>(down);
    return HttpReply{status, std::move(response), type ? std::string(type) : std::string()};
  }
  uint64_t bytes_sent() const override { return sent_; }
  uint64_t bytes_received() const override { return received_; }

 private:
  CurlOptions options_;
  CURL* handle_ = nullptr;
  uint64_t sent_ = 0;
  uint64_t received_ = 0;
};

}  // namespace

Result<std::unique_ptr<Transport>> make_curl_transport(const CurlOptions& options) {
  if (options.base_url.rfind("https://", 0) != 0 && !(options.allow_plain_http && options.base_url.rfind("http://", 0) == 0))
    return make_error(ErrorCode::invalid_argument, "the server address must start with https:// (got '" + options.base_url + "')");
  if (options.base_url.rfind("https://", 0) == 0 && options.ca_pem.find("BEGIN CERTIFICATE") == std::string::npos)
    return make_error(ErrorCode::invalid_argument, "the organisation CA certificate (PEM) is needed to trust the server");
  return std::unique_ptr<Transport>(new CurlTransport(options));
}

}  // namespace hearth::client
