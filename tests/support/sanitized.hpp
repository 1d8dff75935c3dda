#pragma once
// Whether this build runs under AddressSanitizer: tests then run fewer scenarios (each costs
// many times more) and skip figures the sanitizer's allocator distorts (resident memory).

namespace hearth::test {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif

}  // namespace hearth::test
