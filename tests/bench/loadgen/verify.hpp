#pragma once
// The final check, after Runner::settle(): for each practitioner, one full pull from no cursor
// (through the credential of one of its devices) is the server's view. Every op a device of the
// practitioner had confirmed must be in it exactly once, no op id may appear twice in it, and
// every device of the practitioner must hold exactly the op ids of that view (what it pushed
// and what it pulled): none lost, none extra.
#include <string>
#include <vector>

#include "device.hpp"
#include "runner.hpp"

namespace hearth::loadgen {

struct Verification {
  size_t practitioners = 0;
  size_t devices = 0;
  uint64_t server_ops = 0;           // op ids in the practitioners' full views, summed
  uint64_t confirmed_ops = 0;        // ops the devices pushed and the server confirmed
  uint64_t lost = 0;                 // confirmed ops missing from their practitioner's view
  uint64_t duplicated = 0;           // op ids the server sent twice in one full view
  size_t devices_diverged = 0;       // devices whose ops differ from their practitioner's view
  uint64_t missing_on_devices = 0;   // view ops a device lacks, summed
  uint64_t extra_on_devices = 0;     // ops a device holds that the view lacks, summed
  size_t audit_failures = 0;         // full pulls that failed (the check could not be made)
  std::vector<std::string> examples; // the first few problems, in words
  bool ok() const {
    return lost == 0 && duplicated == 0 && devices_diverged == 0 && audit_failures == 0;
  }
};

Verification verify(const std::vector<std::unique_ptr<SimDevice>>& devices, Connections& c, OpKeys& keys);

}  // namespace hearth::loadgen
