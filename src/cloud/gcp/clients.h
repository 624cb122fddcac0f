// Everything a GCP command needs, built from the validated settings: the transport (libcurl, not
// loaded until the first request), the credential chain with its token cache, the REST client
// with its retry policy, and the Compute and IAM APIs. Names that end up in URLs are checked
// against strict patterns here, before any request is built.
#ifndef CLOUDCOOP_CLOUD_GCP_CLIENTS_H_
#define CLOUDCOOP_CLOUD_GCP_CLIENTS_H_

#include <memory>
#include <string>

#include "cloud/gcp/auth.h"
#include "cloud/gcp/compute.h"
#include "cloud/gcp/endpoints.h"
#include "cloud/gcp/iam.h"
#include "config/settings.h"

namespace cloudcoop::gcp {

struct ClientOptions {
  std::string access_token_file_flag;  // --access-token-file
  EnvLookup env;                        // null: the process environment
  HttpTransport* transport = nullptr;   // null: a CurlTransport owned by the clients
  Sleeper* sleeper = nullptr;           // null: real sleeps
  Clock* clock = nullptr;               // null: the real clock
  RetryOptions retry;                   // sleeper/clock above are copied into it
};

class GcpClients {
 public:
  static StatusOr<std::unique_ptr<GcpClients>> Create(const Settings& settings, ClientOptions options);

  ComputeApi& compute() { return *compute_; }
  IamApi& iam() { return *iam_; }
  RestClient& rest() { return *rest_; }
  const Endpoints& endpoints() const { return endpoints_; }
  const Settings& settings() const { return settings_; }
  Clock& clock() { return *clock_; }
  Sleeper& sleeper() { return *sleeper_; }
  // Where the credentials come from (never the token).
  std::string CredentialDescription() const { return tokens_->Describe(); }

 private:
  GcpClients() = default;
  Settings settings_;
  Endpoints endpoints_;
  std::unique_ptr<HttpTransport> owned_transport_;
  HttpTransport* transport_ = nullptr;
  std::unique_ptr<CachingTokenSource> tokens_;
  std::unique_ptr<RestClient> rest_;
  std::unique_ptr<ComputeApi> compute_;
  std::unique_ptr<IamApi> iam_;
  Clock* clock_ = nullptr;
  Sleeper* sleeper_ = nullptr;
};

// Checks project, zone, VM name, network, subnet and service account against GCP's name patterns.
Status CheckGcpNames(const Settings& settings);

}  // namespace cloudcoop::gcp

#endif  // CLOUDCOOP_CLOUD_GCP_CLIENTS_H_
