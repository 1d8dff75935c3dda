// Pull by the access policy across pages (server/src/usecases/pull.cpp): ops withheld from a
// practitioner still count against the page budget, so a family whose withheld ops fill pages
// is delivered whole over several requests, never cut short.
#include <catch2/catch.hpp>

#include "../support/loopback_transport.hpp"
#include "../support/samples.hpp"

using namespace hearth;
using namespace hearth::test;

TEST_CASE("Pull: a partner receives every shared record even when withheld ones fill whole pages", "[security][protocol]") {
  server::ServiceLimits limits;
  limits.wire.page_bytes = 8 * 1024;  // a few ops per page
  LoopbackServer server(limits);
  must(server.store().caseload().add_practitioner("ys-1", "org-ys", "Youth worker", "PRACTITIONER"));
  LoopbackDevice lead(server, "hv-1");
  std::string fam = must(lead.store->create_family(family_fields()));
  std::string p = must(lead.store->create(fam, "Person", person_fields("P", "1980-02-03")));
  std::string d = must(lead.store->create(fam, "Person", person_fields("D", "2011-04-01")));
  FieldValues k = consent_fields();  // D's own consent covers the youth service; P gave none
  k["covers_persons"] = StringList{d};
  k["given_by"] = d;
  k["capacity_basis"] = "COMPETENT_CHILD_SELF";
  k["competence_rationale"] = "understands and chose";
  k["competence_assessed_by"] = "hv-1";
  k["recipients"] = StringList{"org-hv", "org-ys"};
  must(lead.store->create(fam, "ConsentRecord", k));
  auto visit = [&](const std::string& who, int i) {
    FieldValues v = contact_fields("2026-11-20T10:00:00Z", "visit " + std::to_string(i) + " " + std::string(900, 'x'));
    v["persons_present"] = StringList{who};
    return must(lead.store->create(fam, "Contact", v));
  };
  for (int i = 0; i < 60; ++i) visit(p, i);  // about 60 KiB withheld from the partner, pages of it
  std::vector<std::string> shared;
  for (int i = 0; i < 5; ++i) shared.push_back(visit(d, i));  // after them in the log
  lead.sync();
  server.allocate(fam, "ys-1");

  LoopbackDevice partner(server, "ys-1");
  auto report = partner.sync();
  CHECK(report.pages > 2);  // the withheld ops took pages
  for (const auto& id : shared) {
    INFO(id);
    CHECK(partner.store->get(id).ok());
  }
  CHECK_FALSE(partner.store->get(p).ok());
  // and an up-to-date partner's next sync is empty
  CHECK(partner.sync().pulled == 0);
}
