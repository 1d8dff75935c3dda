#pragma once
// The serve lock: `hearth-server serve` holds an exclusive flock(2) on DATA/serve.lock for as
// long as it runs, so that a restore (restore.hpp) can tell that the server is running and
// refuse, and a second `serve` on the same data directory refuses too. The kernel releases
// the lock when the process ends, however it ends (a crash or SIGKILL leaves no stale lock);
// the file itself stays and holds nothing.
// Thread-safety: a ServeLock is owned by one thread; flock locks belong to the open file.
#include <filesystem>

#include "hearth/core/error.hpp"

namespace hearth::server::admin {

class ServeLock {
 public:
  // Takes the lock on DATA/serve.lock (the file is made, mode 0600, when missing) without
  // waiting. ErrorCode::conflict when another process holds it: `what` names the command that
  // wanted it (e.g. "restore") for the message; ErrorCode::storage when the file cannot be
  // opened or locked.
  static Result<ServeLock> take(const std::filesystem::path& data_dir, const std::string& what);
  // The lock's file in a data directory.
  static std::filesystem::path file_in(const std::filesystem::path& data_dir) { return data_dir / "serve.lock"; }

  ServeLock(ServeLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  ServeLock& operator=(ServeLock&&) = delete;
  ServeLock(const ServeLock&) = delete;
  ~ServeLock();

 private:
  explicit ServeLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace hearth::server::admin
