// core/duplicates.hpp: the one probable-duplicate rule (DOMAIN.md G1, §8.3 C-1 and C-20, S5).
#include <catch2/catch.hpp>

#include <algorithm>
#include <random>
#include <set>

#include "hearth/core/civil_time.hpp"
#include "hearth/core/duplicates.hpp"

using namespace hearth;
using namespace hearth::duplicates;
using Catch::Matchers::Contains;

namespace {

PersonFacts baby(std::string id, std::string given = "Amelia", std::string family_name = "Okafor",
                 std::string dob = "2026-11-20") {
  PersonFacts p;
  p.id = std::move(id);
  p.family = "fam-1";
  p.given_names = std::move(given);
  p.family_name = std::move(family_name);
  p.sex = "FEMALE";
  p.person_status = "LIVING";
  p.date_of_birth = std::move(dob);
  return p;
}

PersonFacts unborn(std::string id, std::string edd) {
  PersonFacts p = baby(std::move(id));
  p.person_status = "UNBORN";
  p.date_of_birth.clear();
  p.expected_due_date = std::move(edd);
  p.sex.clear();
  return p;
}

ContactFacts contact(std::string id, std::string at, std::string who = "hv-1", std::string type = "HOME_VISIT") {
  return ContactFacts{std::move(id), "fam-1", std::move(who), std::move(type), std::move(at), false};
}

bool has_pair(const std::vector<Finding>& found, const std::string& a, const std::string& b) {
  return std::any_of(found.begin(), found.end(), [&](const Finding& f) {
    return (f.first == a && f.second == b) || (f.first == b && f.second == a);
  });
}

}  // namespace

TEST_CASE("Duplicates: the same newborn typed twice is found with the reason, never by id", "[unit]") {
  auto a = baby("p-b"), b = baby("p-a", "Amelia", "Okafur");  // one letter mistyped
  auto found = duplicate_persons({a, b});
  REQUIRE(found.size() == 1);
  CHECK(found[0].kind == "Person");
  CHECK(found[0].first == "p-a");  // the pair is named in id order whatever the input order
  CHECK(found[0].second == "p-b");
  CHECK(found[0].key() == "Person:p-a|p-b");
  REQUIRE(found[0].reasons.size() == 1);
  CHECK(found[0].reasons[0] == reason::kSameNameSexDob);
  CHECK_THAT(found[0].describe(), Contains("p-a and p-b") && Contains("date of birth"));
  CHECK_THAT(found[0].describe(), !Contains("Okaf"));  // reasons name the rule, never a value
}

TEST_CASE("Duplicates: typing tolerance in names", "[unit]") {
  CHECK(names_match("Okafor", "okafor"));
  CHECK(names_match("Okafor", "Okafro"));           // transposition: one edit
  CHECK(names_match("O'Brien", "OBrien"));          // punctuation dropped
  CHECK(names_match("Smith-Jones", "Smith Jones"));
  CHECK(names_match("Zoë", "Zoe"));                 // accents folded
  CHECK(names_match("ÉLODIE", "elodie"));
  CHECK(names_match("Alexandra", "Alexsandrа") == false);  // a Cyrillic а is not a Latin a, and two edits away
  CHECK(names_match("Christopher", "Christofer"));   // 2 edits allowed for longer names
  CHECK_FALSE(names_match("Amy", "Ava"));           // 2 edits on a short name: different people
  CHECK_FALSE(names_match("Amelia", "Amanda"));
  CHECK_FALSE(names_match("", ""));                 // nothing to compare is no match
  CHECK(edit_distance("abc", "abc", 2) == 0);
  CHECK(edit_distance("abcdef", "abcfed", 2) == 2);
  CHECK(edit_distance("a", "abcdefgh", 2) == 3);    // stops early: limit + 1
  // The first given name alone is enough ("Amelia Rose" and "Amelia").
  CHECK(persons_match(baby("x", "Amelia Rose"), baby("y", "Amelia")).has_value());
}

TEST_CASE("Duplicates: a different date of birth, sex or NHS number means two people", "[unit]") {
  CHECK_FALSE(persons_match(baby("x"), baby("y", "Amelia", "Okafor", "2026-11-21")).has_value());
  auto boy = baby("y");
  boy.sex = "MALE";
  CHECK_FALSE(persons_match(baby("x"), boy).has_value());
  auto unknown_sex = baby("y");
  unknown_sex.sex = "NOT_STATED";
  CHECK(persons_match(baby("x"), unknown_sex).has_value());  // unknown on one side does not separate
  auto a = baby("x"), b = baby("y");
  a.nhs_number = "943 476 5919";
  b.nhs_number = "943 476 5870";
  CHECK_FALSE(persons_match(a, b).has_value());  // twins registered alike but with their own numbers
  b.nhs_number = "9434765919";
  auto why = persons_match(a, b);
  REQUIRE(why.has_value());
  CHECK((*why)[0] == reason::kSameNhsNumber);
  // The same NHS number alone is enough, whatever the names.
  auto other = baby("z", "Someone", "Else", "1990-01-01");
  other.nhs_number = "943-476-5919";
  CHECK(has_pair(duplicate_persons({a, other}), "x", "z"));
}

TEST_CASE("Duplicates: an unborn child's due date within the tolerance matches", "[unit]") {
  Rules rules;
  rules.due_date_tolerance_days = 7;
  CHECK(persons_match(unborn("u1", "2026-11-20"), unborn("u2", "2026-11-25"), rules).has_value());
  CHECK(persons_match(unborn("u1", "2026-11-20"), baby("b1", "Amelia", "Okafor", "2026-11-27"), rules).has_value());
  CHECK_FALSE(persons_match(unborn("u1", "2026-11-20"), baby("b1", "Amelia", "Okafor", "2026-11-28"), rules).has_value());
  auto why = persons_match(unborn("u1", "2026-11-20"), unborn("u2", "2026-11-13"), rules);
  REQUIRE(why.has_value());
  CHECK((*why)[0] == reason::kSameNameSexDueDate);
  rules.due_date_tolerance_days = 2;
  CHECK_FALSE(persons_match(unborn("u1", "2026-11-20"), unborn("u2", "2026-11-25"), rules).has_value());
}

TEST_CASE("Duplicates: merged-away and deleted persons take no part", "[unit]") {
  auto merged = baby("y");
  merged.merged_into = "x";
  CHECK(duplicate_persons({baby("x"), merged}).empty());
  CHECK(blocking_keys(merged).empty());
  auto gone = baby("y");
  gone.deleted = true;
  CHECK(duplicate_persons({baby("x"), gone}).empty());
}

TEST_CASE("Duplicates: facts are read from a record's field values", "[unit]") {
  FieldValues f{{"given_names", Value("Amelia")}, {"family_name", Value("Okafor")}, {"person_status", Value("UNBORN")},
                {"expected_due_date", Value("2026-12-01")}, {"nhs_number", Value("9434765919")},
                {"merged_into", Value("p-9")}};
  auto p = person_facts("p-1", "fam-1", f, false);
  CHECK(p.expected_due_date == "2026-12-01");
  CHECK(p.nhs_number == "9434765919");
  CHECK(p.merged_into == "p-9");
  FieldValues c{{"practitioner", Value("hv-1")}, {"contact_type", Value("CLINIC")}, {"occurred_at", Value("2026-11-23T10:00:00Z")}};
  auto cf = contact_facts("c-1", "fam-1", c, false);
  CHECK(cf.practitioner == "hv-1");
  CHECK(cf.contact_type == "CLINIC");
}

TEST_CASE("Duplicates: contacts by the same practitioner of the same type within the window (C-1)", "[unit]") {
  Rules rules;
  rules.contact_window_minutes = 5;
  auto found = duplicate_contacts({contact("c-1", "2026-11-23T10:00:00Z"), contact("c-2", "2026-11-23T10:04:59Z"),
                                   contact("c-3", "2026-11-23T10:30:00Z"),  // outside the window
                                   contact("c-4", "2026-11-23T10:00:30Z", "yw-1"),  // another practitioner
                                   contact("c-5", "2026-11-23T10:01:00Z", "hv-1", "PHONE")},  // another type
                                  rules);
  REQUIRE(found.size() == 1);
  CHECK(found[0].kind == "Contact");
  CHECK(found[0].first == "c-1");
  CHECK(found[0].second == "c-2");
  CHECK(found[0].reasons[0] == reason::kSamePractitionerTypeWindow);
  // S1: different practitioners and types on the same day raise nothing.
  CHECK(duplicate_contacts({contact("c1", "2026-11-23T10:00:00Z", "hv-1", "HOME_VISIT"),
                            contact("c2", "2026-11-23T15:00:00Z", "yw-1", "DETACHED_YOUTH_WORK")})
            .empty());
  // Another family's contact is not part of this family's chronology.
  auto elsewhere = contact("c-9", "2026-11-23T10:00:10Z");
  elsewhere.family = "fam-2";
  CHECK(duplicate_contacts({contact("c-1", "2026-11-23T10:00:00Z"), elsewhere}).empty());
}

TEST_CASE("Duplicates: blocking keys cover every pair the rule finds", "[unit]") {
  auto keys = blocking_keys(unborn("u", "2026-11-20"));
  CHECK(keys.size() == 15);  // the due date plus or minus 7 days
  CHECK(std::find(keys.begin(), keys.end(), "dob:2026-11-13") != keys.end());
  auto born = baby("b");
  born.nhs_number = "943 476 5919";
  CHECK(blocking_keys(born) == std::vector<std::string>{"nhs:9434765919", "dob:2026-11-20"});
}

TEST_CASE("Duplicates property: findings are symmetric, complete on small sets and share a blocking key", "[property]") {
  std::mt19937 rng(20261201);
  const std::vector<std::string> given = {"Amelia", "Amelie", "Ava", "Noah", "Nora", "Leo", "Lea", "Oliver"};
  const std::vector<std::string> surname = {"Okafor", "Okafur", "Smith", "Smyth", "Jones", "Khan"};
  const std::vector<std::string> sexes = {"", "FEMALE", "MALE", "NOT_STATED"};
  for (int round = 0; round < 200; ++round) {
    std::vector<PersonFacts> people;
    const int n = 2 + static_cast<int>(rng() % 10);
    for (int i = 0; i < n; ++i) {
      PersonFacts p = baby("p" + std::to_string(i), given[rng() % given.size()], surname[rng() % surname.size()],
                           civil::format_date(20400 + static_cast<int64_t>(rng() % 12)));
      p.sex = sexes[rng() % sexes.size()];
      if (rng() % 3 == 0) {
        p.person_status = "UNBORN";
        p.expected_due_date = p.date_of_birth;
        p.date_of_birth.clear();
      }
      if (rng() % 4 == 0) p.nhs_number = "94347659" + std::to_string(10 + rng() % 3);
      people.push_back(p);
    }
    auto found = duplicate_persons(people);
    for (size_t i = 0; i < people.size(); ++i)
      for (size_t j = i + 1; j < people.size(); ++j) {
        auto ab = persons_match(people[i], people[j]);
        auto ba = persons_match(people[j], people[i]);
        INFO(people[i].id << " " << people[j].id);
        CHECK(ab.has_value() == ba.has_value());
        CHECK(has_pair(found, people[i].id, people[j].id) == ab.has_value());
        if (ab) {
          auto ki = blocking_keys(people[i]), kj = blocking_keys(people[j]);
          std::set<std::string> si(ki.begin(), ki.end());
          CHECK(std::any_of(kj.begin(), kj.end(), [&](const std::string& k) { return si.count(k) > 0; }));
        }
      }
  }
}

TEST_CASE("Duplicates property: one typing slip in a name is tolerated", "[property]") {
  std::mt19937 rng(7);
  const std::string letters = "abcdefghijklmnopqrstuvwxyz";
  for (int round = 0; round < 300; ++round) {
    std::string name;
    const size_t len = 3 + rng() % 10;
    for (size_t i = 0; i < len; ++i) name += letters[rng() % letters.size()];
    std::string typo = name;
    switch (rng() % 4) {
      case 0: typo[rng() % typo.size()] = letters[rng() % letters.size()]; break;  // substitution
      case 1: typo.erase(rng() % typo.size(), 1); break;                             // deletion
      case 2: typo.insert(rng() % (typo.size() + 1), 1, letters[rng() % letters.size()]); break;  // insertion
      default: {
        size_t at = rng() % (typo.size() - 1);
        std::swap(typo[at], typo[at + 1]);  // transposition
      }
    }
    INFO(name << " / " << typo);
    CHECK(names_match(name, typo));
    CHECK(persons_match(baby("a", "Amelia", name), baby("b", "Amelia", typo)).has_value());
  }
}

TEST_CASE("Duplicates property: a big family costs a bounded number of comparisons", "[property]") {
  // 3,000 persons born the same day (the worst case for the date sweep) and 3,000 contacts by one
  // practitioner in one minute: findings are bounded by n * max_neighbours, not n squared.
  Rules rules;
  rules.max_neighbours = 8;
  std::vector<PersonFacts> people;
  for (int i = 0; i < 3000; ++i) people.push_back(baby("p" + std::to_string(i), "Child" + std::to_string(i % 7)));
  auto found = duplicate_persons(people, rules);
  CHECK(!found.empty());
  CHECK(found.size() <= people.size() * rules.max_neighbours);
  std::vector<ContactFacts> contacts;
  for (int i = 0; i < 3000; ++i) contacts.push_back(contact("c" + std::to_string(i), "2026-11-23T10:00:00Z"));
  auto same = duplicate_contacts(contacts, rules);
  CHECK(same.size() <= contacts.size() * rules.max_neighbours);
  CHECK(same.size() == contacts.size() - 1);  // a chain: each paired with its next neighbour
  // A name longer than the cap is compared on its first kMaxComparedNameBytes bytes.
  CHECK(normalise_name(std::string(5000, 'a')).size() == kMaxComparedNameBytes);
}
