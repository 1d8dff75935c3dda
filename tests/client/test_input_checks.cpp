// Fault 4 of issue 7, input side, through the C++ API: the Store refuses text that is not valid
// UTF-8, ids that are too long or hold control characters, and values above the schema's caps,
// with an error naming the record and field, and records nothing.
#include <catch2/catch.hpp>

#include "hearth/client/store.hpp"
#include "hearth/core/text.hpp"
#include "../../client/src/sync_port.hpp"  // the sync engine's side of a Store (internal)
#include "../support/must.hpp"
#include "../support/samples.hpp"
#include "../support/temp_dir.hpp"

using namespace hearth;
using namespace hearth::client;
using Catch::Matchers::Contains;
using hearth::test::must;

namespace {

Result<std::unique_ptr<Store>> try_open(const std::string& path, const std::string& who) {
  StoreOptions o;
  o.practitioner_id = who;
  o.pin = "2468";
  o.kdf = KdfParams{1u << 10, 8, 1};
  return Store::open(path, std::move(o));
}

void refused(const Result<std::string>& r, const std::string& names) {
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error().message, Contains(names));
  CHECK(is_valid_utf8(r.error().message));
}
void refused(const Result<void>& r, const std::string& names) {
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error().message, Contains(names));
  CHECK(is_valid_utf8(r.error().message));
}

}  // namespace

TEST_CASE("Store: text that is not valid UTF-8 is refused by every edit call (fault 4)", "[fault][store]") {
  hearth::test::TempDir dir;
  auto s = must(try_open(dir.file("a.db"), "hv-1"));
  std::string fam = must(s->create_family(test::family_fields()));
  std::string contact = must(s->create(fam, "Contact", test::contact_fields("2026-11-23T10:00:00Z", "Visit")));
  size_t before = must(sync_port(*s).outbox()).size();

  refused(s->create(fam, "Contact", test::contact_fields("2026-11-23T11:00:00Z", "visit note \xff\xfe")),
          "Contact.narrative");
  refused(s->update(fam, "display_name", Value("Family \xc3")), "Family.display_name");
  refused(s->update(fam, "phone", Value("\xed\xa0\x80")), "not valid UTF-8");
  refused(s->create_family({{"display_name", Value("F\xff")}}), "Family.display_name");
  std::string person = must(s->create(fam, "Person", test::person_fields()));
  refused(s->add_element(person, "other_names", "Al\xff"), "Person.other_names");

  CHECK(must(sync_port(*s).outbox()).size() == before + 1);  // the person only
  CHECK_THAT(must(s->get(contact)).json, Contains("Visit"));
}

TEST_CASE("Store: ids too long or with control characters are refused (fault 4)", "[fault][store]") {
  hearth::test::TempDir dir;
  for (std::string who : {std::string("hv-1\n"), std::string(kMaxIdBytes + 1, 'p'), std::string("hv \xff")}) {
    auto bad = try_open(dir.file("a.db"), who);
    REQUIRE_FALSE(bad.ok());
    CHECK_THAT(bad.error().message, Contains("practitioner id"));
  }

  auto s = must(try_open(dir.file("d.db"), "hv-1"));
  std::string fam = must(s->create_family(test::family_fields()));
  refused(s->create(fam, "Person", test::person_fields(), std::string(kMaxIdBytes + 1, 'x')), "129 bytes");
  refused(s->create(fam, "Person", test::person_fields(), std::string("p-1\x1b[2J")), "Person id");
  refused(s->create(fam, "Person", test::person_fields(), std::string("p 1")), "Person id");
  CHECK(s->create(fam, "Person", test::person_fields(), std::string("mother-1")).ok());
  // A reference must be an id too.
  auto episode = test::episode_fields({"child\n1"});
  refused(s->create(fam, "EarlyHelpEpisode", episode), "subject_children");
}

TEST_CASE("Store: values above the schema's caps are refused, naming the field", "[store]") {
  hearth::test::TempDir dir;
  auto s = must(try_open(dir.file("a.db"), "hv-1"));
  std::string fam = must(s->create_family(test::family_fields()));
  auto def = Schema::v1().entity("Contact")->field("narrative");
  REQUIRE(def->max_length == 64 * 1024);
  CHECK(s->create(fam, "Contact", test::contact_fields("2026-11-23T10:00:00Z", std::string(def->max_length, 'n'))).ok());
  auto r = s->create(fam, "Contact", test::contact_fields("2026-11-23T10:00:00Z", std::string(def->max_length + 1, 'n')));
  refused(r, "Contact.narrative");
  CHECK_THAT(r.error().message, Contains("longer than 65536"));
  refused(s->update(fam, "display_name", Value(std::string(1025, 'd'))), "Family.display_name");
}
