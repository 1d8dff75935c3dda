// Writes the seed corpus of the fuzz targets from the real encoders: one encoded op of every
// kind (op_decoder/), and every /v1 message with the selector byte fuzz_protocol.cpp reads
// (protocol/). Usage: fuzz_seeds CORPUS_DIR (its op_decoder/ and protocol/ must exist).
#include <cstdio>
#include <fstream>
#include <string>

#include "hearth/sync/encoding.hpp"
#include "hearth/sync/protocol.hpp"
#include "../support/sample_op.hpp"

using namespace hearth;
using namespace hearth::sync;

namespace {

void write(const std::string& path, const std::string& bytes) { std::ofstream(path, std::ios::binary) << bytes; }

Op sample(OpKind kind) { return test::sample_op(kind); }

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: fuzz_seeds CORPUS_DIR\n");
    return 2;
  }
  std::string dir = argv[1];
  for (int k = 1; k <= 8; ++k)
    write(dir + "/op_decoder/kind-" + std::to_string(k), encode(sample(static_cast<OpKind>(k))));

  namespace p = sync::protocol;
  std::string op = encode(sample(OpKind::Set));
  auto put = [&](int selector, const std::string& name, const std::string& body) {
    write(dir + "/protocol/" + name, std::string(1, static_cast<char>(selector)) + body);
  };
  put(0, "error", p::encode(p::ErrorReply{p::WireError::too_large, "over the limit"}));
  put(1, "enrol", p::encode(p::EnrolRequest{"a1b2c3d4e5", "dev-a", "hv-1"}));
  p::EnrolReply er;
  er.device_token = std::string(64, 'f');
  er.practitioner_id = "hv-1";
  er.history.epoch = "e1";
  er.max_push_bytes = 4u << 20;
  er.max_op_bytes = 512u << 10;
  put(2, "enrol-reply", p::encode(er));
  p::PushRequest pq;
  pq.device_time_ms = 1767225600000;
  pq.ops = {op, "x"};
  pq.history_epoch = "e1";
  pq.delivered_counter = 7;
  pq.quarantined = {{"dev-a:3", "fam-1", "no access"}};
  put(3, "push", p::encode(pq));
  p::PushReply pr;
  pr.results = {{"dev-a:42", p::OpStatus::accepted, "", std::nullopt},
                {"dev-a:43", p::OpStatus::rejected, "too big", p::WireError::too_large}};
  pr.history.epoch = "e1";
  pr.quarantine_acknowledged = {"dev-a:3"};
  put(4, "push-reply", p::encode(pr));
  p::PullRequest lq;
  lq.cursors = {{"fam-1", 12}, {"fam-2", 0}};
  lq.feed_version = 3;
  lq.history_epoch = "e1";
  put(5, "pull", p::encode(lq));
  put(0x85, "pull-tight", p::encode(lq));
  p::PullReply lr;
  lr.families = {{"fam-1", {op}, 13}};
  lr.purge = {"fam-9"};
  lr.feed_version = 4;
  put(6, "pull-reply", p::encode(lr));
  put(7, "health", p::encode(p::HealthReply{}));
  put(0x41, "push-framed", p::encode_framed(pq));
  put(0x40, "pull-reply-framed", p::encode_framed(lr));
  put(0xc0, "pull-reply-framed-tight", p::encode_framed(lr));
  return 0;
}
