#pragma once
// The one rule for probable duplicates (DOMAIN.md §2 G1 "tell the story once", §8.3 C-1 and
// C-20, §13 S5), used by the server (usecases/duplicates.cpp) and by the tablet
// (client Store::probable_duplicates). A finding is a proposal for a person to review: nothing
// here merges anything, and nothing is ever merged automatically (C-20).
//
// Persons (C-20) are probable duplicates when
//  - they carry the same NHS number (digits compared, spaces and dashes ignored), or
//  - neither carries an NHS number different from the other's, and
//      their family names and their given names match with tolerance for typing (see
//        names_match: case, accents of Latin letters, spaces, hyphens and apostrophes ignored,
//        then at most 1 edit for names up to 6 letters, 2 for longer, where a transposition of
//        two neighbouring letters is one edit; or the first given name alone matches), and
//      their sex is the same, or unknown on either side (unset or NOT_STATED: an unborn child
//        usually has none), and
//      their dates of birth are equal; or, when either is UNBORN, the expected due date is
//        within Rules::due_date_tolerance_days of the other's due date or date of birth (a
//        baby registered before birth by one worker and after it by another).
// Contacts (C-1) are probable duplicates when the same practitioner recorded two contacts of
// the same contact_type for the same family whose occurred_at are at most
// Rules::contact_window_minutes apart.
//
// Merged-away persons (a `merged_into` set, see kMergedIntoField) and deleted records take no
// part. Cost is bounded whatever the family's size: persons are sorted by their date and each
// is compared only with the next ones whose date is within the tolerance, at most
// Rules::max_neighbours of them (and the same within each NHS number); contacts are sorted by
// (practitioner, type, time) and each is paired with the next one of its family within the window
// (a run of k contacts gives k - 1 findings). So n records cost O(n log n + n * max_neighbours)
// comparisons, each bounded by the name length cap (kMaxComparedNameBytes).
// Thread-safety: pure functions.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "hearth/core/validation.hpp"  // FieldValues

namespace hearth::duplicates {

// The marker of a merged-away person (DOMAIN.md §3.3): Person.merged_into holds the id of the
// person it was merged into (a server-authority Ref). The record is kept, never deleted; every
// reader that counts people (KPIs, §12.1 "persons merged away" excluded) skips a Person whose
// merged_into is set, and follows it to find the person a reference means.
inline constexpr const char* kMergedIntoField = "merged_into";

// Names longer than this are compared on their first kMaxComparedNameBytes bytes (after
// normalising), so one comparison costs at most that squared.
inline constexpr size_t kMaxComparedNameBytes = 64;

struct Rules {
  int due_date_tolerance_days = 7;  // an UNBORN's expected_due_date against the other's date
  int contact_window_minutes = 5;   // C-1 "same minute", widened to a few minutes of typing
  size_t max_neighbours = 32;       // comparisons per record after sorting (bounded cost)
};

// What the rule reads of a Person record.
struct PersonFacts {
  std::string id;
  std::string family;
  std::string nhs_number;
  std::string given_names;
  std::string family_name;
  std::string sex;            // "" when unset
  std::string person_status;  // UNBORN, LIVING, DECEASED
  std::string date_of_birth;  // YYYY-MM-DD, "" when unset
  std::string expected_due_date;
  std::string merged_into;    // "" unless merged away
  bool deleted = false;
};

// What the rule reads of a Contact record.
struct ContactFacts {
  std::string id;
  std::string family;
  std::string practitioner;
  std::string contact_type;
  std::string occurred_at;  // YYYY-MM-DDTHH:MM:SS[.mmm]Z
  bool deleted = false;
};

// Reads the facts from a record's field values (a Person's, a Contact's), as the merge or the
// store holds them (FieldValues of sync::EntityMerge::values()).
PersonFacts person_facts(const std::string& id, const std::string& family, const FieldValues& fields, bool deleted);
ContactFacts contact_facts(const std::string& id, const std::string& family, const FieldValues& fields, bool deleted);

// Why two records were found (each a separate line of a finding's reasons).
namespace reason {
inline constexpr const char* kSameNhsNumber = "same NHS number";
inline constexpr const char* kSameNameSexDob = "same family and given names (allowing for typing), sex and date of birth";
inline constexpr const char* kSameNameSexDueDate =
    "same family and given names (allowing for typing) and sex, expected due date within the tolerance";
inline constexpr const char* kSamePractitionerTypeWindow =
    "same practitioner, same contact type, occurred within the window (DOMAIN.md §8.3 C-1)";
}  // namespace reason

// One probable duplicate pair: `first` < `second` (by id), so the same pair is always named
// the same way. `kind` is "Person" or "Contact". `reasons` name the rule, never a value (a
// finding may be shown to people who may not see the records' values).
struct Finding {
  std::string kind;
  std::string first;
  std::string second;
  std::string first_family;
  std::string second_family;
  std::vector<std::string> reasons;

  // "Person:<first>|<second>": the pair's stable key.
  std::string key() const { return kind + ":" + first + "|" + second; }
  std::string describe() const;  // "Person a and b: same NHS number"
};

// Why `a` and `b` are probable duplicate persons, or nullopt when they are not (merged-away
// or deleted persons never are). Symmetric.
std::optional<std::vector<std::string>> persons_match(const PersonFacts& a, const PersonFacts& b, const Rules& rules = {});

// Every probable duplicate pair among `persons` (one family's, or a candidate set across
// families), by key. Bounded as the header says.
std::vector<Finding> duplicate_persons(const std::vector<PersonFacts>& persons, const Rules& rules = {});

// Every probable duplicate pair among one family's `contacts`, by key.
std::vector<Finding> duplicate_contacts(const std::vector<ContactFacts>& contacts, const Rules& rules = {});

// The blocking keys of a person for finding candidates in other families (the server's
// index keeps a keyed hash of each, never the key itself): "nhs:<digits>" when it has an NHS
// number, "dob:<date>" when it has a date of birth, and for an UNBORN "dob:<date>" for every
// day within the tolerance of its expected due date. Two persons persons_match would find
// share a key. Empty for merged-away or deleted persons.
std::vector<std::string> blocking_keys(const PersonFacts& p, const Rules& rules = {});

// The name as compared: lower-case letters and digits only (Latin-1 accented letters folded to
// their base letter, spaces, hyphens, apostrophes and other punctuation dropped), cut at
// kMaxComparedNameBytes.
std::string normalise_name(const std::string& name);
// Optimal string alignment distance (Levenshtein plus transposition of neighbours), stopping
// early: returns `limit` + 1 as soon as the distance must exceed `limit`.
size_t edit_distance(const std::string& a, const std::string& b, size_t limit);
// Whether two names (family names, or given names) match with the tolerance above.
bool names_match(const std::string& a, const std::string& b);

}  // namespace hearth::duplicates
