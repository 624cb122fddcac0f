// Request-body validation for the fake GCP: the fields each method accepts and their JSON types.
// An unknown field or a wrong type gives the real API's 400 message ("Invalid JSON payload
// received. Unknown name ...").
#ifndef CLOUDCOOP_TESTING_FAKE_GCP_BODY_SCHEMA_H_
#define CLOUDCOOP_TESTING_FAKE_GCP_BODY_SCHEMA_H_

#include <nlohmann/json_fwd.hpp>

#include <string>

namespace cloudcoop::fakegcp {

enum class BodyKind {
  kInstance,
  kFirewall,
  kSetMachineType,
  kMetadata,
  kGetIamPolicy,
  kSetIamPolicy,
  kGenerateAccessToken,
  kEmpty,  // start, stop, wait: no fields
};

// Empty when `body` fits; else the error message. `root` names the body in messages
// ("resource" as the API says).
std::string ValidateBody(const nlohmann::json& body, BodyKind kind);

}  // namespace cloudcoop::fakegcp

#endif  // CLOUDCOOP_TESTING_FAKE_GCP_BODY_SCHEMA_H_
