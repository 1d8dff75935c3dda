// The office's person merge (office_inbound.hpp), dispatched to the duplicate-people part's
// merge_persons(ctx, keep, merged_away, by). Until that function is linked into the server this
// file says so: the endpoint answers 501 and keeps nothing, so the office sends it again later.
// Linking it: include its header, return true from person_merge_available() and call it from
// merge_persons_from_office().
#include "office_inbound.hpp"

namespace hearth::server {

bool person_merge_available() { return false; }

Result<std::vector<std::string>> merge_persons_from_office(ServiceContext&, const std::string& keep,
                                                           const std::string& merged_away, const std::string&) {
  return make_error(ErrorCode::invalid_argument,
                    "person_merge: merging " + merged_away + " into " + keep + " is not available on this server yet");
}

}  // namespace hearth::server
