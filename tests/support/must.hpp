#pragma once
// Unwraps a Result in a test, failing the test with the error's message.
#include <catch2/catch.hpp>

#include "hearth/core/error.hpp"

namespace hearth::test {

template <typename T>
T must(Result<T> r) {
  INFO((r.ok() ? std::string() : r.error().describe()));
  REQUIRE(r.ok());
  return std::move(r.value());
}
inline void must(Result<void> r) {
  INFO((r.ok() ? std::string() : r.error().describe()));
  REQUIRE(r.ok());
}

}  // namespace hearth::test
