#pragma once
// A hostile HTTP/1.1 client for tests: sends exactly the bytes given (any method, malformed
// paths, thousands of headers, chunked bodies, half-sent requests) over plain TCP or TLS to
// 127.0.0.1, and reads whatever comes back until the peer closes or a deadline passes. Every
// wait is bounded. It does not verify the server's certificate: it plays an attacker.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>

namespace hearth::test {

struct RawReply {
  int status = 0;          // 0: no status line came back
  std::string head;        // status line and headers
  std::string body;        // as sent (chunked encoding and gzip are not undone)
  bool closed = false;     // the peer closed the connection (or reset it) before the deadline
  size_t bytes_sent = 0;   // how much of the request went out before the peer stopped reading
  double seconds = 0;      // from connect to the end of reading
  std::string header(const std::string& name) const {
    std::string lower_head;
    for (char c : head) lower_head.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    std::string key = "\r\n" + name + ":";
    for (auto& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    size_t at = lower_head.find(key);
    if (at == std::string::npos) return {};
    size_t start = at + key.size();
    size_t end = head.find("\r\n", start);
    std::string v = head.substr(start, end - start);
    while (!v.empty() && v.front() == ' ') v.erase(v.begin());
    return v;
  }
};

class RawConnection {
 public:
  // `source`: the local address to connect from (another loopback address, e.g. 127.0.0.3).
  RawConnection(uint16_t port, bool tls, const std::string& source = "") {
    ::signal(SIGPIPE, SIG_IGN);  // a peer that stops reading must not kill the test binary
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (!source.empty()) {
      sockaddr_in local{};
      local.sin_family = AF_INET;
      inet_pton(AF_INET, source.c_str(), &local.sin_addr);
      if (::bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) throw std::runtime_error("bind failed");
    }
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) throw std::runtime_error("connect failed");
    timeval tv{10, 0};  // no single write or read blocks longer than this
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (tls) {
      ctx_ = SSL_CTX_new(TLS_client_method());
      ssl_ = SSL_new(ctx_);
      SSL_set_fd(ssl_, fd_);
      static char host[] = "localhost";  // SNI (the macro form has an old-style cast)
      SSL_ctrl(ssl_, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, host);
      if (SSL_connect(ssl_) != 1) throw std::runtime_error("TLS handshake failed");
    }
  }
  ~RawConnection() {
    if (ssl_) SSL_free(ssl_);
    if (ctx_) SSL_CTX_free(ctx_);
    if (fd_ >= 0) ::close(fd_);
  }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  // Sends all of `bytes`; false as soon as the peer stops accepting them.
  bool send(const std::string& bytes) {
    size_t off = 0;
    while (off < bytes.size()) {
      size_t n = std::min<size_t>(bytes.size() - off, 64 * 1024);
      long w = ssl_ ? SSL_write(ssl_, bytes.data() + off, static_cast<int>(n))
                    : static_cast<long>(::send(fd_, bytes.data() + off, n, MSG_NOSIGNAL));
      if (w <= 0) return false;
      off += static_cast<size_t>(w);
      sent_ += static_cast<size_t>(w);
    }
    return true;
  }
  size_t sent() const { return sent_; }

  // Reads until the peer closes, or `deadline` passes, or (with `stop_after_reply`) a whole
  // answer with a Content-Length has arrived.
  RawReply read_reply(std::chrono::milliseconds deadline, bool stop_after_reply = true) {
    RawReply r;
    std::string in;
    auto start = std::chrono::steady_clock::now();
    auto end = start + deadline;
    char buf[16384];
    while (std::chrono::steady_clock::now() < end) {
      if (!ssl_ || SSL_pending(ssl_) == 0) {
        pollfd p{fd_, POLLIN, 0};
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
        int ready = ::poll(&p, 1, static_cast<int>(std::max<long>(1, left.count())));
        if (ready <= 0) continue;
      }
      long n = ssl_ ? SSL_read(ssl_, buf, sizeof buf) : static_cast<long>(::recv(fd_, buf, sizeof buf, 0));
      if (n <= 0) {
        r.closed = true;
        break;
      }
      in.append(buf, static_cast<size_t>(n));
      if (stop_after_reply && complete(in)) break;
    }
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    size_t split = in.find("\r\n\r\n");
    r.head = in.substr(0, split);
    r.body = split == std::string::npos ? std::string() : in.substr(split + 4);
    if (in.rfind("HTTP/1.", 0) == 0 && in.size() > 12) r.status = std::atoi(in.substr(9, 3).c_str());
    r.bytes_sent = sent_;
    return r;
  }

 private:
  static bool complete(const std::string& in) {
    size_t split = in.find("\r\n\r\n");
    if (split == std::string::npos) return false;
    RawReply probe;
    probe.head = in.substr(0, split);
    std::string length = probe.header("content-length");
    return !length.empty() && in.size() - split - 4 >= static_cast<size_t>(std::atol(length.c_str()));
  }

  int fd_ = -1;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  size_t sent_ = 0;
};

// One request: sends `request` (stopping when the peer stops reading) and reads the answer.
inline RawReply raw_exchange(uint16_t port, bool tls, const std::string& request,
                             std::chrono::milliseconds deadline = std::chrono::seconds(20),
                             const std::string& source = "") {
  RawConnection c(port, tls, source);
  c.send(request);
  return c.read_reply(deadline);
}

// A request head with `extra` header lines (each ending in \r\n) and a Content-Length body.
inline std::string http_request(const std::string& method, const std::string& path, const std::string& body = "",
                                const std::string& extra = "") {
  std::string r = method + " " + path + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n" + extra;
  if (!body.empty() || method == "POST") r += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  return r + "\r\n" + body;
}

// The resident set and its peak (kB) of a process, from /proc/PID/status; 0 when unreadable.
struct Memory {
  long rss_kb = 0;
  long peak_kb = 0;
};
inline Memory memory_of(pid_t pid) {
  Memory m;
  FILE* f = std::fopen(("/proc/" + std::to_string(pid) + "/status").c_str(), "r");
  if (!f) return m;
  char line[256];
  while (std::fgets(line, sizeof line, f)) {
    if (std::strncmp(line, "VmRSS:", 6) == 0) m.rss_kb = std::atol(line + 6);
    if (std::strncmp(line, "VmHWM:", 6) == 0) m.peak_kb = std::atol(line + 6);
  }
  std::fclose(f);
  return m;
}

}  // namespace hearth::test
