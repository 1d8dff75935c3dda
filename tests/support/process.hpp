#pragma once
// Running the project's own binaries from tests: build paths, output capture, exit codes.
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace hearth::test {

// A binary of this build, found from the test binary's own location (build/tests/...).
inline std::string build_binary(const std::string& relative) {
  std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe");
  return (self.parent_path().parent_path() / relative).string();
}

struct ProcessResult {
  int code = -1;
  std::string out;
  std::string err;
};

inline std::string drain_fd(int fd) {
  std::string s;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) s.append(buf, static_cast<size_t>(n));
  return s;
}

// Runs `binary args...` in `cwd` with extra environment, `input` on stdin, and optionally a
// descriptor made available as fd 3. Waits for it and returns its output and exit code.
inline ProcessResult run_process(const std::string& binary, std::vector<std::string> args, const std::string& cwd = ".",
                                 const std::map<std::string, std::string>& env = {}, const std::string& input = "",
                                 int fd3 = -1) {
  int out[2], err[2], in[2];
  if (pipe(out) != 0 || pipe(err) != 0 || pipe(in) != 0) return {};
  pid_t pid = fork();
  if (pid < 0) return {};
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    if (fd3 >= 0) dup2(fd3, 3);
    for (int fd : {out[0], out[1], err[0], err[1], in[0], in[1]}) close(fd);
    if (chdir(cwd.c_str()) != 0) _exit(120);
    unsetenv("HEARTH_PIN");
    unsetenv("HEARTH_NEW_PIN");
    unsetenv("HEARTH_STORE");
    for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
    std::vector<char*> argv{const_cast<char*>(binary.c_str())};
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(binary.c_str(), argv.data());
    _exit(127);
  }
  close(out[1]);
  close(err[1]);
  close(in[0]);
  if (!input.empty()) (void)!write(in[1], input.data(), input.size());
  close(in[1]);
  ProcessResult r;
  r.out = drain_fd(out[0]);
  r.err = drain_fd(err[0]);
  close(out[0]);
  close(err[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

}  // namespace hearth::test
