#include "hearth/platform/random.hpp"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <pthread.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <mutex>

namespace hearth::platform {

namespace {

// Requests above this size go to the generator directly: buffering saves a call per draw,
// which only matters for small draws (nonces, salts, ids).
constexpr size_t kBufferBytes = 4096;
constexpr size_t kDirectAbove = 256;

class BufferedRandom {
 public:
  Result<void> fill(std::span<uint8_t> out) {
    if (out.size() > kDirectAbove) return from_generator(out.data(), out.size());
    std::lock_guard lock(mutex_);
    size_t done = 0;
    while (done < out.size()) {
      if (pos_ == buffer_.size()) {
        if (auto r = from_generator(buffer_.data(), buffer_.size()); !r) return r;
        pos_ = 0;
      }
      size_t take = std::min(out.size() - done, buffer_.size() - pos_);
      std::memcpy(out.data() + done, buffer_.data() + pos_, take);
      OPENSSL_cleanse(buffer_.data() + pos_, take);  // handed out once, then gone
      pos_ += take;
      done += take;
    }
    return {};
  }

  // Fork handlers (see source()).
  void lock() { mutex_.lock(); }
  void unlock() { mutex_.unlock(); }

  // After fork() in the child: the inherited bytes were also the parent's.
  void discard() {
    OPENSSL_cleanse(buffer_.data(), buffer_.size());
    pos_ = buffer_.size();
  }

 private:
  static Result<void> from_generator(uint8_t* out, size_t n) {
    constexpr size_t kChunk = size_t{1} << 20;  // RAND_bytes takes an int length
    for (size_t done = 0; done < n; done += kChunk) {
      size_t len = std::min(kChunk, n - done);
      if (RAND_bytes(out + done, static_cast<int>(len)) != 1)
        return make_error(ErrorCode::storage, "the random generator (OpenSSL RAND_bytes) could not produce " +
                                                  std::to_string(len) + " bytes");
    }
    return {};
  }

  std::mutex mutex_;
  std::array<uint8_t, kBufferBytes> buffer_{};
  size_t pos_ = kBufferBytes;  // empty until the first draw
};

BufferedRandom* g_source = nullptr;  // never destroyed: usable from static destructors too

BufferedRandom& source() {
  static BufferedRandom* s = [] {
    g_source = new BufferedRandom();
    // prepare/parent/child: the child must not reuse the parent's buffered bytes, nor inherit
    // the mutex locked by a thread that does not exist in the child.
    pthread_atfork([] { g_source->lock(); }, [] { g_source->unlock(); },
                   [] {
                     g_source->discard();
                     g_source->unlock();
                   });
    return g_source;
  }();
  return *s;
}

}  // namespace

Result<void> random_fill(std::span<uint8_t> out) { return source().fill(out); }

Result<std::string> random_bytes(size_t n) {
  std::string out(n, '\0');
  if (auto r = random_fill({reinterpret_cast<uint8_t*>(out.data()), n}); !r) return r.error();
  return out;
}

}  // namespace hearth::platform
