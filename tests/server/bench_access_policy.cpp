// Benchmark, not a test (hidden: run `hearth_tests "[.access-bench]"`; it asserts nothing about
// speed). Issue 8 part 11: re-evaluating a family of 10,000 ops after a consent withdrawal, and
// the cost of a pull with the access policy against the same pull without it.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "../support/loopback_transport.hpp"
#include "../support/samples.hpp"
#include "access/server_access_policy.hpp"
#include "hearth/core/access.hpp"
#include "hearth/sync/access_intent.hpp"
#include "hearth/sync/encoding.hpp"

using namespace hearth;
using namespace hearth::test;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// The server's policy, but every view whole: the pull "without the policy".
class WholeViews final : public server::AccessPolicy {
 public:
  explicit WholeViews(server::AccessPolicy& inner) : inner_(inner) {}
  Result<void> complete(server::Caller& c) override { return inner_.complete(c); }
  Result<std::vector<std::string>> readable_families(const server::Caller& c) override {
    return inner_.readable_families(c);
  }
  Result<access::FamilyView> view(const server::Caller&, access::FamilyFacts&, int64_t) override {
    access::FamilyView v;
    v.standing = access::Standing::lead;
    return v;
  }
  Result<server::WriteDecision> may_write(const server::Caller& c, const sync::Op& op, access::FamilyFacts* f,
                                          int64_t now) override {
    return inner_.may_write(c, op, f, now);
  }

 private:
  server::AccessPolicy& inner_;
};

struct Family {
  std::string id, p, d, k1;
};

// A family of about `ops` ops: a father and a daughter with their consents, and visits about each.
Family build(client::Store& lead, size_t ops) {
  Family f;
  f.id = must(lead.create_family(family_fields("Family G")));
  f.p = must(lead.create(f.id, "Person", person_fields("P", "1980-02-03")));
  f.d = must(lead.create(f.id, "Person", person_fields("D", "2011-04-01")));
  auto consent = [&](const std::string& who, const char* basis) {
    FieldValues c = consent_fields();
    c["covers_persons"] = StringList{who};
    c["given_by"] = who;
    c["capacity_basis"] = basis;
    c["recipients"] = StringList{"org-hv", "org-ys"};
    c["explained_by"] = "hv-1";
    if (std::string(basis) == "COMPETENT_CHILD_SELF") {
      c["competence_rationale"] = "understands and chose";
      c["competence_assessed_by"] = "hv-1";
    }
    return must(lead.create(f.id, "ConsentRecord", c));
  };
  f.k1 = consent(f.p, "SELF_ADULT");
  consent(f.d, "COMPETENT_CHILD_SELF");
  size_t made = 8;
  while (made < ops) {
    must(lead.atomically([&]() -> Result<void> {
      for (int i = 0; i < 500 && made < ops; ++i, ++made) {
        FieldValues v = contact_fields("2026-11-20T10:00:00Z", "visit " + std::to_string(made));
        v["persons_present"] = StringList{made % 2 ? f.p : f.d};
        auto r = lead.create(f.id, "Contact", v);
        if (!r) return r.error();
      }
      return {};
    }));
  }
  return f;
}

}  // namespace

TEST_CASE("Benchmark: the access policy on a family of 10,000 ops", "[.access-bench]") {
  const size_t kOps = 10000;
  LoopbackServer server;
  must(server.store().caseload().add_practitioner("ys-1", "org-ys", "Youth worker", "PRACTITIONER"));
  LoopbackDevice lead(server, "hv-1");
  Family f = build(*lead.store, kOps);
  lead.sync();
  server.allocate(f.id, "ys-1");

  // Re-evaluating the family: its records from the server's merge state, then the view.
  auto ops = must(server.store().ops().ops_after(f.id, 0, SIZE_MAX));
  sync::Materialiser merged(Schema::v1());
  for (const auto& so : ops) must(merged.apply(must(sync::decode(so.body))));
  server::ServerAccessPolicy policy(server.store().caseload(), server.store().ops());
  server::Caller yw{"ys-1", "dev", 0, "", {}};
  must(policy.complete(yw));
  const int kRounds = 20;
  auto t0 = std::chrono::steady_clock::now();
  size_t withheld = 0;
  for (int i = 0; i < kRounds; ++i) {
    access::FamilyFacts facts = sync::family_facts(merged, f.id);
    withheld += must(policy.view(yw, facts, static_cast<int64_t>(wall_now_ms()))).withheld_records.size();
  }
  double per_view = seconds_since(t0) / kRounds;
  std::printf("family: %zu ops, %zu records\n", ops.size(), sync::family_facts(merged, f.id).records.size());
  std::printf("re-evaluate (records + view), before the withdrawal: %.2f ms (%zu withheld)\n", 1000 * per_view,
              withheld / kRounds);

  // The youth worker's first pull, with the policy and with whole views, median of 3 fresh tablets each.
  auto pull_time = [&](server::SyncService& service) {
    std::vector<double> times;
    for (int round = 0; round < 3; ++round) {
      TempDir dir;
      auto store = open_tablet(dir, "ys-1");
      LoopbackTransport t(service);
      must(client::enrol(*store, t, "https://loopback", "", must(service.issue_enrol_code("ys-1"))));
      auto t1 = std::chrono::steady_clock::now();
      auto report = must(client::sync(*store, t, {}));
      times.push_back(seconds_since(t1));
      CHECK(report.pulled > 0);
    }
    std::sort(times.begin(), times.end());
    return times[1];
  };
  server::ServerAccessPolicy inner(server.store().caseload(), server.store().ops());
  WholeViews whole(inner);
  server::SyncService without(server.store(), whole, [] { return wall_now_ms(); });
  auto compare = [&](const char* when) {
    double with_policy = pull_time(server.service());
    double without_policy = pull_time(without);
    std::printf("first pull of the family by the youth worker, %s: %.1f ms with the policy, %.1f ms without (%.2fx)\n",
                when, 1000 * with_policy, 1000 * without_policy, with_policy / without_policy);
  };
  compare("before the withdrawal");

  // A partial withdrawal for the youth service, then the same evaluation.
  must(lead.store->add_element(f.k1, "withdrawn_recipients", "org-ys"));
  lead.sync();
  auto more = must(server.store().ops().ops_after(f.id, ops.back().seq, SIZE_MAX));
  for (const auto& so : more) must(merged.apply(must(sync::decode(so.body))));
  t0 = std::chrono::steady_clock::now();
  withheld = 0;
  for (int i = 0; i < kRounds; ++i) {
    access::FamilyFacts facts = sync::family_facts(merged, f.id);
    withheld += must(policy.view(yw, facts, static_cast<int64_t>(wall_now_ms()))).withheld_records.size();
  }
  per_view = seconds_since(t0) / kRounds;
  std::printf("re-evaluate (records + view), after the withdrawal:  %.2f ms (%zu withheld)\n", 1000 * per_view,
              withheld / kRounds);

  compare("after the withdrawal (the policy withholds the father's records)");
}
