// The office's person merge (office_inbound.hpp), dispatched to the duplicate-people part's
// merge_persons(ctx, keep, merged_away, by, reason) (usecases/person_merge.hpp, DOMAIN.md §11.2,
// S5). Until that function is part of the server this file says so: the endpoint answers 501 and
// keeps nothing, so the office sends the message again later.
#if __has_include("person_merge.hpp")
#include "person_merge.hpp"
#define HEARTH_PERSON_MERGE 1
#endif
#include "office_inbound.hpp"

namespace hearth::server {

#ifdef HEARTH_PERSON_MERGE

bool person_merge_available() { return true; }

Result<std::vector<std::string>> merge_persons_from_office(ServiceContext& ctx, const std::string& keep,
                                                           const std::string& merged_away, const std::string& by,
                                                           const std::string& reason) {
  auto merged = merge_persons(ctx, keep, merged_away, by, reason);
  if (!merged) return merged.error();
  return merged->ops;
}

#else

bool person_merge_available() { return false; }

Result<std::vector<std::string>> merge_persons_from_office(ServiceContext&, const std::string& keep,
                                                           const std::string& merged_away, const std::string&,
                                                           const std::string&) {
  return make_error(ErrorCode::invalid_argument,
                    "person_merge: merging " + merged_away + " into " + keep + " is not available on this server yet");
}

#endif

}  // namespace hearth::server
