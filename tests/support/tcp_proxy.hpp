#pragma once
// A TCP proxy on 127.0.0.1 that forwards to a local port and lets a test act on the byte
// stream: cut the connection after N bytes in either direction, or run an action (kill the
// server, kill the client) when a threshold passes. Bounded: it stops by itself when the
// object is destroyed, and polls with a timeout.
//
// A test that forks a client process makes the proxy with `Start::later` and calls start()
// after the fork: forking while the proxy's thread runs can leave the child's allocator lock
// held by a thread that does not exist in the child (a hang under AddressSanitizer). The
// listening socket exists from construction, so the child can connect before start().
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <thread>

namespace hearth::test {

class TcpProxy {
 public:
  // Called after each forwarded chunk with the totals so far on the current connection;
  // returning true cuts that connection.
  using Rule = std::function<bool(size_t up_bytes, size_t down_bytes)>;

  enum class Start { now, later };

  TcpProxy(uint16_t target_port, Rule rule, Start when = Start::now)
      : target_(target_port), rule_(std::move(rule)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a = loopback(0);
    ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    ::listen(listen_fd_, 16);
    if (when == Start::now) start();
  }
  ~TcpProxy() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    ::close(listen_fd_);
  }
  void start() {
    if (!thread_.joinable()) thread_ = std::thread([this] { loop(); });
  }
  uint16_t port() const { return port_; }
  size_t cuts() const { return cuts_; }

 private:
  static sockaddr_in loopback(uint16_t port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
  }
  void loop() {
    while (!stop_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      int client = ::accept(listen_fd_, nullptr, nullptr);
      if (client < 0) continue;
      int server = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in a = loopback(target_);
      if (::connect(server, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        ::close(client);
        ::close(server);
        continue;
      }
      pump(client, server);  // one connection at a time: the sync engine keeps one alive
      ::close(client);
      ::close(server);
    }
  }
  void pump(int client, int server) {
    size_t up = 0, down = 0;
    char buf[16384];
    while (!stop_) {
      pollfd fds[2] = {{client, POLLIN, 0}, {server, POLLIN, 0}};
      if (poll(fds, 2, 50) <= 0) continue;
      for (int i = 0; i < 2; ++i) {
        if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
        if (n <= 0) return;
        int to = i == 0 ? server : client;
        if (::write(to, buf, static_cast<size_t>(n)) != n) return;
        (i == 0 ? up : down) += static_cast<size_t>(n);
        if (rule_(up, down)) {
          ++cuts_;
          return;
        }
      }
    }
  }

  uint16_t target_;
  Rule rule_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<size_t> cuts_{0};
};

}  // namespace hearth::test
