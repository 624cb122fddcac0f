// Where cloudcoop's Google Cloud access tokens come from (ADR 0007), in this order:
//   1. an access-token file: --access-token-file, then cloud.gcp.access_token_file, then
//      CLOUDSDK_AUTH_ACCESS_TOKEN_FILE (gcloud's variable);
//   2. the GCE metadata server, when running on a VM (GCE_METADATA_HOST, or the DMI product name
//      says Google Compute Engine): the VM's attached service account, no key file;
//   3. Application Default Credentials: GOOGLE_APPLICATION_CREDENTIALS (set but unreadable is an
//      error, never a fall-through), then gcloud's application_default_credentials.json (under
//      CLOUDSDK_CONFIG or ~/.config/gcloud), of type authorized_user (refresh-token exchange),
//      impersonated_service_account (source credentials, then IAM Credentials generateAccessToken),
//      or external_account (workload identity federation: a subject token from a file or URL
//      exchanged at STS, then optional impersonation).
// Service-account key files (type service_account) are refused with an explanation, unless
// cloud.gcp.allow_key_files is true (and then `cloudcoop check` fails config.key-files).
// Tokens are cached until kTokenRefreshSlack before they expire, and never logged.
#ifndef CLOUDCOOP_CLOUD_GCP_AUTH_H_
#define CLOUDCOOP_CLOUD_GCP_AUTH_H_

#include <memory>
#include <mutex>
#include <string>

#include "cloud/gcp/endpoints.h"
#include "cloud/gcp/http.h"
#include "cloud/gcp/retry.h"
#include "core/clock.h"

namespace cloudcoop::gcp {

inline constexpr char kCloudPlatformScope[] = "https://www.googleapis.com/auth/cloud-platform";
inline constexpr Duration kTokenRefreshSlack = std::chrono::minutes(5);

struct AccessToken {
  std::string value;
  SystemTime expiry = SystemTime::max();  // max: unknown (a token file)
};

class TokenSource {
 public:
  virtual ~TokenSource() = default;
  // A fresh token (from the network or a file). Never logged by anyone.
  virtual StatusOr<AccessToken> Fetch() = 0;
  // Where tokens come from, for messages ("gcloud ADC (authorized_user) in /root/.config/..."),
  // never a secret.
  virtual std::string Describe() const = 0;
};

// Hands out the cached token until it is within kTokenRefreshSlack of its expiry (or half of its
// lifetime, for short-lived tokens), then fetches a new one. Thread-safe.
class CachingTokenSource {
 public:
  CachingTokenSource(std::unique_ptr<TokenSource> source, Clock* clock);
  StatusOr<std::string> Token();
  // After the API rejected the token (401): the next Token() fetches again.
  void Invalidate();
  std::string Describe() const { return source_->Describe(); }
  int fetches() const;

 private:
  std::unique_ptr<TokenSource> source_;
  Clock* clock_;
  mutable std::mutex mu_;
  bool have_ = false;
  AccessToken token_;
  SystemTime refresh_at_{};
  int fetches_ = 0;
};

struct CredentialOptions {
  std::string access_token_file_flag;    // --access-token-file
  std::string access_token_file_config;  // cloud.gcp.access_token_file
  bool allow_key_files = false;          // cloud.gcp.allow_key_files
  EnvLookup env;                         // null: the process environment
  std::string gce_product_name_file = "/sys/class/dmi/id/product_name";
  HttpTransport* transport = nullptr;    // for token exchanges; must outlive the source
  RetryOptions retry;
  Clock* clock = nullptr;                // null: DefaultClock()
};

// Picks the first available source in the order above. Reads files but makes no network call;
// the first Fetch() does. Errors name the source and the fix.
StatusOr<std::unique_ptr<TokenSource>> ResolveCredentials(const CredentialOptions& options);

// One ADC JSON document (a file's content); `origin` names it in messages. Exposed for tests.
StatusOr<std::unique_ptr<TokenSource>> CredentialsFromJson(const std::string& json_text, const std::string& origin,
                                                           const CredentialOptions& options);

}  // namespace cloudcoop::gcp

#endif  // CLOUDCOOP_CLOUD_GCP_AUTH_H_
