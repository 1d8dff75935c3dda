#include "pin.hpp"

#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>

namespace hearth::cli {

namespace {

Result<std::string> read_line_fd(int fd) {
  std::string line;
  char c = 0;
  while (line.size() < 4096) {
    ssize_t n = ::read(fd, &c, 1);
    if (n < 0) return make_error(ErrorCode::invalid_argument, "cannot read the PIN from descriptor " + std::to_string(fd));
    if (n == 0 || c == '\n') break;
    if (c != '\r') line.push_back(c);
  }
  if (line.empty()) return make_error(ErrorCode::invalid_argument, "descriptor " + std::to_string(fd) + " gave an empty PIN");
  return line;
}

Result<std::string> prompt_no_echo(const std::string& prompt) {
  if (!isatty(STDIN_FILENO))
    return make_error(ErrorCode::locked,
                      "no PIN given: set HEARTH_PIN, pass --pin-fd N, or run on a terminal to be asked");
  std::cerr << prompt << std::flush;
  termios old{};
  tcgetattr(STDIN_FILENO, &old);
  termios quiet = old;
  quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
  tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  std::string pin;
  std::getline(std::cin, pin);
  tcsetattr(STDIN_FILENO, TCSANOW, &old);
  std::cerr << "\n";
  return pin;
}

}  // namespace

Result<std::string> read_pin(const PinSource& source, const std::string& prompt) {
  if (source.fd) return read_line_fd(*source.fd);
  if (const char* env = std::getenv("HEARTH_PIN"); env && *env) return std::string(env);
  return prompt_no_echo(prompt);
}

Result<std::string> read_new_pin(const PinSource& source, const std::string& prompt, const char* env_name) {
  if (source.fd) return read_line_fd(*source.fd);
  if (const char* env = std::getenv(env_name); env && *env) return std::string(env);
  auto first = prompt_no_echo(prompt);
  if (!first) return first;
  auto second = prompt_no_echo("Repeat the new PIN: ");
  if (!second) return second;
  if (*first != *second) return make_error(ErrorCode::invalid_argument, "the two PINs differ; nothing was changed");
  return first;
}

}  // namespace hearth::cli
