#include "serve_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace hearth::server::admin {

Result<ServeLock> ServeLock::take(const std::filesystem::path& data_dir, const std::string& what) {
  const std::string file = file_in(data_dir).string();
  int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    return make_error(ErrorCode::storage, "cannot open the serve lock " + file + ": " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK)
      return make_error(ErrorCode::conflict,
                        "hearth-server is serving " + data_dir.string() + " (" + file + " is held by the running server): " +
                            (what == "serve" ? std::string("only one hearth-server may serve a data directory")
                                             : "stop hearth-server first, then run " + what + " again"));
    return make_error(ErrorCode::storage, "cannot lock " + file + ": " + std::strerror(err));
  }
  return ServeLock(fd);
}

ServeLock::~ServeLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the last descriptor of the open file releases the flock
}

}  // namespace hearth::server::admin
