// platform/crypto, keyring and random source: sealing round trips, every kind of tampering is
// refused, values sealed by earlier builds still open (the tablet's on-disk format), and the
// keyring wraps, unwraps, rewraps and destroys per-partition keys.
#include <catch2/catch.hpp>
#include <sys/wait.h>
#include <unistd.h>

#include <set>
#include <thread>

#include "hearth/platform/crypto.hpp"
#include "hearth/platform/keyring.hpp"
#include "hearth/platform/random.hpp"
#include "../support/must.hpp"

using namespace hearth;
using namespace hearth::platform;
using hearth::test::must;

namespace {

std::string unhex(std::string_view h) {
  std::string out;
  for (size_t i = 0; i + 1 < h.size(); i += 2) out.push_back(static_cast<char>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16)));
  return out;
}

std::string counting_bytes(int first) {
  std::string raw;
  for (int i = 0; i < 32; ++i) raw.push_back(static_cast<char>(first + i));
  return raw;
}

Key fixed_key() { return must(Key::from_bytes(counting_bytes(0))); }

std::string flip(std::string s, size_t pos) {
  s[pos] = static_cast<char>(s[pos] ^ 0x01);
  return s;
}

}  // namespace

TEST_CASE("Sealing round-trips and every sealed value has its own nonce", "[unit][security]") {
  auto key = must(Key::random());
  auto sealer = must(Sealer::create(key));
  for (std::string plain : {std::string(), std::string("a"), std::string(100000, 'x')}) {
    auto a = must(sealer->seal(plain, "field|r1|name"));
    auto b = must(sealer->seal(plain, "field|r1|name"));
    CHECK(a.size() == plain.size() + kSealOverhead);
    CHECK(a.substr(0, kNonceBytes) != b.substr(0, kNonceBytes));
    CHECK(must(sealer->open(a, "field|r1|name")) == plain);
    CHECK(must(open(key, b, "field|r1|name")) == plain);  // the one-off path reads the same layout
  }
  auto empty_aad = must(seal(key, "value", ""));
  CHECK(must(sealer->open(empty_aad, "")) == "value");
}

TEST_CASE("A sealed value does not open under another key, place, nonce or tag", "[unit][security]") {
  auto key = must(Key::random());
  auto sealed = must(seal(key, "visit note", "field|r1|narrative"));
  auto refused = [&](const Result<std::string>& r) {
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == ErrorCode::corrupt);
  };
  refused(open(must(Key::random()), sealed, "field|r1|narrative"));       // wrong key
  refused(open(key, sealed, "field|r2|narrative"));                        // moved to another record
  refused(open(key, sealed, ""));                                          // associated data dropped
  refused(open(key, flip(sealed, 0), "field|r1|narrative"));               // nonce altered
  refused(open(key, flip(sealed, kNonceBytes), "field|r1|narrative"));     // ciphertext altered
  refused(open(key, flip(sealed, sealed.size() - 1), "field|r1|narrative"));  // tag altered
  refused(open(key, sealed.substr(0, sealed.size() - 1), "field|r1|narrative"));  // truncated
  refused(open(key, sealed.substr(0, kSealOverhead - 1), "field|r1|narrative"));  // shorter than nonce and tag
}

TEST_CASE("Values sealed by earlier builds still open: the sealing layout is unchanged", "[unit][security]") {
  // Made by client/src/crypto.cpp before the move to platform/ (key 00..1f).
  auto key = fixed_key();
  auto field = unhex("568a1f71a83e942fd0c8cd17c4383a14952fad9cde3ad5e85a76fd8f7c39357ff183c59a5ded1fb965ad0c56def46b097046");
  CHECK(must(open(key, field, "field|r1|name")) == "Hearth v1 sealed value");
  // A family key wrapped by the old vault ("hearth family key v1|<family>") unwraps in a keyring.
  auto wrapped = unhex("efb7b741846a685808ab16e2b238342349dc270e184388588f86d20e6f2219239ea69fe42b75919eac1eea1ef201d8c479207628c7b4542c698f5a7f");
  auto ring = must(Keyring::create(key, "hearth family key v1"));
  CHECK(must(ring.unwrap("fam-1", wrapped)).view() == counting_bytes(0xa0));
  // scrypt gives the same key for the same PIN, salt and parameters.
  auto derived = must(derive_key("2468", "0123456789abcdef", ScryptParams{1u << 10, 8, 1}));
  CHECK(derived.view() == unhex("869dca92acb44de40fb17ce1db56d788a068458d6c0b1bb8db911119ebbf3646"));
}

TEST_CASE("Keys and KDF parameters are checked, never thrown", "[unit]") {
  auto short_key = Key::from_bytes("too short");
  REQUIRE_FALSE(short_key.ok());
  CHECK(short_key.error().code == ErrorCode::invalid_argument);
  auto bad_n = derive_key("2468", "salt", ScryptParams{1000, 8, 1});  // not a power of two
  REQUIRE_FALSE(bad_n.ok());
  CHECK(bad_n.error().code == ErrorCode::invalid_argument);
  auto huge = derive_key("2468", "salt", ScryptParams{uint64_t{1} << 40, 8, 1});
  REQUIRE_FALSE(huge.ok());
  CHECK(huge.error().code == ErrorCode::invalid_argument);
  CHECK(must(derive_key("2468", "salt", ScryptParams{1u << 10, 8, 1})).view() !=
        must(derive_key("2469", "salt", ScryptParams{1u << 10, 8, 1})).view());
}

TEST_CASE("A keyring wraps per-partition keys, and a wrapped key opens only for its partition and wrapping key",
          "[unit][security]") {
  auto master = must(Key::random());
  auto ring = must(Keyring::create(master, "hearth family key v1"));
  auto wrapped = must(ring.create_key("fam-1"));
  REQUIRE(ring.loaded("fam-1"));
  auto sealed = must(must(ring.sealer("fam-1"))->seal("note", "field|r1|narrative"));

  // Another keyring on the same wrapping key loads it and opens what the first sealed.
  auto again = must(Keyring::create(master, "hearth family key v1"));
  must(again.load("fam-1", wrapped));
  CHECK(must(must(again.sealer("fam-1"))->open(sealed, "field|r1|narrative")) == "note");

  // Another partition, label or wrapping key, or an altered wrapped key: refused.
  CHECK(again.unwrap("fam-2", wrapped).error().code == ErrorCode::corrupt);
  CHECK(must(Keyring::create(master, "other label")).unwrap("fam-1", wrapped).error().code == ErrorCode::corrupt);
  auto stranger = must(Keyring::create(must(Key::random()), "hearth family key v1"));
  CHECK(stranger.load("fam-1", wrapped).error().code == ErrorCode::corrupt);
  CHECK(again.unwrap("fam-1", flip(wrapped, wrapped.size() - 1)).error().code == ErrorCode::corrupt);
  CHECK(ring.create_key("fam-1").error().code == ErrorCode::conflict);

  // Destroyed: the keyring can no longer seal or open for the partition.
  again.destroy("fam-1");
  CHECK_FALSE(again.loaded("fam-1"));
  CHECK(again.sealer("fam-1").error().code == ErrorCode::not_found);
}

TEST_CASE("Rewrapping moves a data key to a new wrapping key without resealing values", "[unit][security]") {
  auto old_ring = must(Keyring::create(must(Key::random()), "hearth family key v1"));
  auto new_ring = must(Keyring::create(must(Key::random()), "hearth family key v1"));
  auto wrapped = must(old_ring.create_key("fam-1"));
  auto sealed = must(must(old_ring.sealer("fam-1"))->seal("assessment", "field|a1|analysis"));

  auto rewrapped = must(old_ring.rewrap("fam-1", wrapped, new_ring));
  CHECK(rewrapped != wrapped);
  must(new_ring.load("fam-1", rewrapped));
  CHECK(must(must(new_ring.sealer("fam-1"))->open(sealed, "field|a1|analysis")) == "assessment");
  CHECK(old_ring.unwrap("fam-1", rewrapped).error().code == ErrorCode::corrupt);  // the old key no longer opens it
  CHECK(new_ring.rewrap("fam-1", wrapped, old_ring).error().code == ErrorCode::corrupt);  // not new_ring's
}

TEST_CASE("The random source never repeats itself across threads or after fork", "[unit][security]") {
  constexpr int kThreads = 4;
  constexpr int kDraws = 2000;
  std::vector<std::vector<std::string>> drawn(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kDraws; ++i) drawn[static_cast<size_t>(t)].push_back(random_bytes(kNonceBytes).value());
    });
  for (auto& th : threads) th.join();
  std::set<std::string> seen;
  for (const auto& v : drawn) seen.insert(v.begin(), v.end());
  CHECK(seen.size() == size_t{kThreads} * kDraws);

  // A forked child must not hand out the bytes still buffered in the parent.
  auto before = must(random_bytes(16));  // the buffer now holds bytes the parent will use next
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    auto r = random_bytes(16);
    ssize_t w = r.ok() ? write(fds[1], r->data(), r->size()) : -1;
    _exit(w == 16 ? 0 : 1);
  }
  close(fds[1]);
  std::string from_child(16, '\0');
  REQUIRE(read(fds[0], from_child.data(), 16) == 16);
  close(fds[0]);
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  auto next_in_parent = must(random_bytes(16));
  CHECK(from_child != next_in_parent);
  CHECK(before != next_in_parent);
  CHECK(must(random_bytes(5000)).size() == 5000);  // larger than the buffer: straight from the generator
}
