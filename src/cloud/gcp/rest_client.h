// One authenticated JSON call to a Google API: bearer token from the credential chain, the retry
// loop (retry.h), and Google-style error bodies turned into Status values that name the call, the
// HTTP status, the API's own message and the fix (the missing permission for a 403).
#ifndef CLOUDCOOP_CLOUD_GCP_REST_CLIENT_H_
#define CLOUDCOOP_CLOUD_GCP_REST_CLIENT_H_

#include <string>
#include <string_view>

#include "cloud/gcp/auth.h"
#include "cloud/gcp/http.h"
#include "cloud/gcp/retry.h"

namespace cloudcoop::gcp {

struct RestCall {
  std::string method = "GET";
  std::string url;
  std::string body;  // JSON text; empty: none
  // Reads are idempotent; a write only when it carries a requestId or an etag/fingerprint.
  Idempotency idempotency = Idempotency::kIdempotent;
  Duration timeout = std::chrono::seconds(30);
  std::string what;  // names the call in errors: "compute.instances.get cloudcoop-agents"
};

class RestClient {
 public:
  RestClient(HttpTransport* transport, CachingTokenSource* tokens, RetryOptions retry);
  // The body of a 2xx answer, or the error (after retries for transient failures of idempotent
  // calls). A 401 refreshes the token once before it counts as an error.
  StatusOr<std::string> Call(const RestCall& call);
  const RetryOptions& retry_options() const { return retry_; }
  std::string CredentialDescription() const { return tokens_->Describe(); }

 private:
  HttpTransport* transport_;
  CachingTokenSource* tokens_;
  RetryOptions retry_;
};

// The Status for a non-2xx answer with a Google-style error body:
//   400 kInvalidArgument; 401 kPermissionDenied (credentials); 403 kPermissionDenied naming the
//   missing permission, or kResourceExhausted for quota, or kUnavailable for rate limits; 404
//   kNotFound; 409 kAlreadyExists; 412 kAborted (stale fingerprint or etag); 429 and 5xx kUnavailable.
// `identity` (may be empty) is named in the fix of a 403.
Status ApiError(int http_status, std::string_view body, std::string_view what, std::string_view identity = "");

}  // namespace cloudcoop::gcp

#endif  // CLOUDCOOP_CLOUD_GCP_REST_CLIENT_H_
