#pragma once
// Enrolment (POST /v1/enrol, no credential): spends a one-time code and gives the device its
// credential (stored hashed). Also issues codes for the office.
#include "context.hpp"

namespace hearth::server {

Answer<sync::protocol::EnrolReply> enrol(ServiceContext& ctx, const sync::protocol::EnrolRequest& request,
                                         const std::string& remote);

// A one-time enrolment code for a practitioner (printed once, stored hashed).
Result<std::string> issue_enrol_code(ServiceContext& ctx, const std::string& practitioner);

}  // namespace hearth::server
