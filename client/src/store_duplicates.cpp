// Store::probable_duplicates: the tablet's side of the one duplicate rule (core/duplicates.hpp).
#include "store_impl.hpp"

namespace hearth::client {

Result<std::vector<duplicates::Finding>> Store::probable_duplicates(const std::string& family_id) const {
  return impl_->app_call("probable_duplicates", [&]() -> Result<std::vector<duplicates::Finding>> {
    if (auto r = impl_->check_unlocked(family_id); !r) return r.error();
    if (!impl_->holds_family(family_id)) return make_error(ErrorCode::not_found, "no family with id '" + family_id + "'");
    if (auto r = impl_->ensure_family(family_id); !r) return r.error();
    std::vector<duplicates::PersonFacts> persons;
    std::vector<duplicates::ContactFacts> contacts;
    for (const sync::EntityMerge* e : impl_->mat.entities(family_id)) {
      if (!e->created()) continue;
      const std::string& type = e->def().name;
      if (type == "Person") persons.push_back(duplicates::person_facts(e->id(), family_id, e->values(), e->deleted()));
      else if (type == "Contact")
        contacts.push_back(duplicates::contact_facts(e->id(), family_id, e->values(), e->deleted()));
    }
    std::vector<duplicates::Finding> out = duplicates::duplicate_persons(persons);
    for (auto& c : duplicates::duplicate_contacts(contacts)) out.push_back(std::move(c));
    return out;
  });
}

}  // namespace hearth::client
