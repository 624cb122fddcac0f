// Base URLs of the Google APIs cloudcoop calls, overridable with gcloud's own variables so that one
// local fake serves both cloudcoop and gcloud in tests:
//   CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE         includes the version path: http://127.0.0.1:18080/compute/v1/
//   CLOUDSDK_API_ENDPOINT_OVERRIDES_IAM, _CLOUDRESOURCEMANAGER, _SECRETMANAGER, _LOGGING, _MONITORING
//                                                   the server root: http://127.0.0.1:18080/
#ifndef CLOUDCOOP_CLOUD_GCP_ENDPOINTS_H_
#define CLOUDCOOP_CLOUD_GCP_ENDPOINTS_H_

#include <functional>
#include <optional>
#include <string>

#include "core/status.h"

namespace cloudcoop::gcp {

// Reads one environment variable; the default reads the process environment.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;
EnvLookup ProcessEnv();

struct Endpoints {
  std::string compute = "https://compute.googleapis.com/compute/v1/";
  std::string iam = "https://iam.googleapis.com/";
  std::string crm = "https://cloudresourcemanager.googleapis.com/";
  std::string secretmanager = "https://secretmanager.googleapis.com/";
  std::string logging = "https://logging.googleapis.com/";
  std::string monitoring = "https://monitoring.googleapis.com/";

  // The defaults with every override applied. Each override must be an absolute URL, and https
  // unless it points at a loopback address (bearer tokens never travel unencrypted elsewhere).
  static StatusOr<Endpoints> FromEnv(const EnvLookup& env);
};

}  // namespace cloudcoop::gcp

#endif  // CLOUDCOOP_CLOUD_GCP_ENDPOINTS_H_
