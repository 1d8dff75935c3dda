#pragma once
// The peer benchmark workload's schema (peer_benchmark_schema.cpp). Benchmarks only: the
// project's record schema is core's Schema::v1().
#include "hearth/core/schema.hpp"

namespace hearth {

const Schema& peer_benchmark_schema();

}  // namespace hearth
