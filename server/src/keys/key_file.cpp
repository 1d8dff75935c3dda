#include "key_file.hpp"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <algorithm>

#include "audit/hex.hpp"
#include "hearth/platform/random.hpp"

namespace hearth::server::keys {

namespace fs = std::filesystem;

namespace {
constexpr size_t kSecretBytes = 32;

std::string str(std::string_view v) { return std::string(v); }
}  // namespace

Result<std::string> read_key_file(const fs::path& file, const KeyFileKind& kind) {
  const std::string what = str(kind.name) + " " + file.string();
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return make_error(ErrorCode::locked, "cannot read " + what + ": " + std::strerror(errno) + "; " + str(kind.remedy));
  struct stat st {};
  bool stat_ok = ::fstat(fd, &st) == 0;
  std::string text;
  char buf[256];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0 && text.size() < 4096) text.append(buf, static_cast<size_t>(n));
  ::close(fd);
  OPENSSL_cleanse(buf, sizeof buf);
  if (!stat_ok || !S_ISREG(st.st_mode)) {
    OPENSSL_cleanse(text.data(), text.size());
    return make_error(ErrorCode::locked, what + " is not a regular file; " + str(kind.remedy));
  }
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    OPENSSL_cleanse(text.data(), text.size());
    return make_error(ErrorCode::locked, what + " can be read or written by group or others; run `chmod 600 " +
                                             file.string() + "` (and check who could have copied it)");
  }
  // The two lines, cut from `text` itself (no stream buffer keeps a copy of the secret).
  const size_t end1 = std::min(text.find('\n'), text.size());
  const size_t start2 = std::min(end1 + 1, text.size());
  const size_t end2 = std::min(text.find('\n', start2), text.size());
  std::string header = text.substr(0, end1), hex = text.substr(start2, end2 - start2);
  OPENSSL_cleanse(text.data(), text.size());
  auto secret = audit::from_hex(hex);
  OPENSSL_cleanse(hex.data(), hex.size());
  if (header != kind.header || !secret || secret->size() != kSecretBytes) {
    if (secret) OPENSSL_cleanse(secret->data(), secret->size());
    return make_error(ErrorCode::locked, what + " is not a file of " + str(kind.name) + " (first line \"" +
                                             str(kind.header) + "\"); " + str(kind.remedy));
  }
  return std::move(*secret);
}

Result<std::string> create_key_file(const fs::path& file, const KeyFileKind& kind) {
  std::error_code ec;
  if (file.has_parent_path() && !fs::exists(file.parent_path(), ec)) {
    fs::create_directories(file.parent_path(), ec);
    if (ec) return make_error(ErrorCode::storage, "cannot create " + file.parent_path().string() + ": " + ec.message());
    fs::permissions(file.parent_path(), fs::perms::owner_all, fs::perm_options::replace, ec);
  }
  auto secret = platform::random_bytes(kSecretBytes);
  if (!secret) return secret.error();
  std::string text = str(kind.header) + "\n" + audit::to_hex(*secret) + "\n";
  int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    int err = errno;
    OPENSSL_cleanse(text.data(), text.size());
    OPENSSL_cleanse(secret->data(), secret->size());
    return make_error(err == EEXIST ? ErrorCode::conflict : ErrorCode::storage,
                      "cannot create " + str(kind.name) + " " + file.string() + ": " + std::strerror(err));
  }
  bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  ::close(fd);
  OPENSSL_cleanse(text.data(), text.size());
  if (!written) {
    ::unlink(file.c_str());
    OPENSSL_cleanse(secret->data(), secret->size());
    return make_error(ErrorCode::storage, "cannot write " + str(kind.name) + " " + file.string());
  }
  return std::move(*secret);
}

}  // namespace hearth::server::keys
