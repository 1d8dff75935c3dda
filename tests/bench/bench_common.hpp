#pragma once
// The peer workload through Hearth stores: shared by hearth-bench (local) and
// hearth-bench-sync (over the network).
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "hearth/client/store.hpp"
#include "workload.hpp"

namespace hearth::bench {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

[[noreturn]] void die(const std::string& what);
template <typename T>
T must(Result<T> r, const char* what) {
  if (!r) die(std::string(what) + ": " + r.error().describe());
  return std::move(r.value());
}
void must(Result<void> r, const char* what);
double seconds_since(Clock::time_point t);
long peak_rss_kb();
uint64_t file_bytes(const fs::path& p);  // a database with its WAL
Value to_value(const Scalar& s);

// Where each workload document landed in a store.
struct Ids {
  std::vector<std::string> doc;                 // workload doc -> family id
  std::vector<std::vector<std::string>> notes;  // note record ids, in append order
};

std::unique_ptr<client::Store> open_store(const fs::path& path, const Schema& schema, const char* who, bool encrypted);
void create_docs(client::Store& s, Ids& ids, const Workload& w);  // each doc: a family, its actions, its notes
void apply(client::Store& s, Ids& ids, const WorkOp& op);        // one workload op as one store edit
size_t outbox_bytes(const client::Store& s);
void mark_all_pushed(client::Store& s);
std::vector<std::string> outbox_ops(const client::Store& s);

}  // namespace hearth::bench
