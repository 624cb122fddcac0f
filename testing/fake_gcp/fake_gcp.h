// A local fake of the Google Cloud REST APIs cloudcoop uses, for tests and manual runs:
//   Compute v1: instances (insert, get, list, aggregated list, start, stop, delete, setMachineType,
//     setMetadata, getGuestAttributes), zone and global operations (get and wait, with stable names
//     and selfLinks), firewalls (list, get, insert, patch, delete), networks, project, zone;
//   Resource Manager v1: projects getIamPolicy / setIamPolicy (etag checked);
//   IAM v1: service accounts get, keys list; IAM Credentials generateAccessToken;
//   token endpoints: OAuth2 (/token: refresh_token and jwt-bearer grants), STS (/v1/token), and the
//     GCE metadata server (token and guest attributes).
// Request bodies are validated against the fields the fake knows (an unknown field is a 400, as the
// real API does), errors use Google's error body, and every API call needs a bearer token the fake
// issued or was given. Faults are injected per test: HTTP errors (429, 503, 403, quota), slow
// answers, dropped connections, and operations that end in an error.
//
// FakeGcp holds the state and answers requests; FakeGcpServer (fake_gcp_server.h) serves it over
// loopback HTTP for curl and gcloud; FakeTransport (fake_transport.h) calls it in-process.
#ifndef CLOUDCOOP_TESTING_FAKE_GCP_FAKE_GCP_H_
#define CLOUDCOOP_TESTING_FAKE_GCP_FAKE_GCP_H_

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "cloud/gcp/http.h"

namespace cloudcoop::fakegcp {

struct Request {
  std::string method;
  std::string path;                          // decoded path, no query
  std::map<std::string, std::string> query;  // decoded query parameters
  std::vector<gcp::HttpHeader> headers;
  std::string body;
  std::string Header(std::string_view name) const;
};

struct Response {
  int status = 200;
  std::string body;
  std::vector<gcp::HttpHeader> headers;
  std::chrono::milliseconds delay{0};  // answer this much later
  bool drop = false;                   // close the connection before the whole answer is sent
};

enum class FaultKind {
  kHttpError,       // answer with http_status and a Google error body (reason, message)
  kDelay,           // serve normally, but answer `delay` later
  kDrop,            // serve normally, then drop the connection mid-answer
  kOperationError,  // the operation this request starts ends DONE with op_error_code/message
};

// Faults are tried in the order they were added; a request hits at most one (the first that
// matches and has hits left).
struct Fault {
  FaultKind kind = FaultKind::kHttpError;
  std::string method;         // empty: any method
  std::string path_contains;  // empty: any path
  int times = 1;              // how many matching requests it hits; -1: all of them
  int http_status = 503;
  std::string reason = "backendError";
  std::string message = "The service is currently unavailable.";
  std::chrono::milliseconds delay{0};
  std::string op_error_code = "QUOTA_EXCEEDED";
  std::string op_error_message = "Quota 'CPUS' exceeded.  Limit: 8.0 in region us-central1.";
};

struct Options {
  std::string project = "test-project";
  std::string project_number = "123456789012";
  // How many get/wait calls on an operation answer RUNNING before it is DONE (0: mutations
  // answer with a DONE operation at once).
  int operation_polls = 1;
  // insert: the instance is invisible to get/list until its operation is DONE (exercises the
  // requestId path of an interrupted create).
  bool hide_instance_until_done = false;
  // Answer instances with resourceStatus.effectiveInstanceMetadata computed from instance and
  // project metadata.
  bool effective_metadata = false;
  bool require_auth = true;
  int token_lifetime_seconds = 3600;
};

class FakeGcp {
 public:
  explicit FakeGcp(Options options = {});
  ~FakeGcp();

  // Answers one request. Thread-safe.
  Response Handle(const Request& request);
  // Parses a URL's path and query, then Handle.
  Response HandleUrl(const std::string& method, const std::string& url, const std::vector<gcp::HttpHeader>& headers,
                     const std::string& body);

  // The scheme://host:port used in selfLinks (the server sets it once it knows its port).
  void SetBaseUrl(const std::string& base);
  std::string base_url() const;
  Options& options();

  // ---- test setup ----
  void AddToken(const std::string& token);
  void AddFault(const Fault& fault);
  void ClearFaults();
  // Instances as JSON text (as the API would return them); Put stores it as given.
  void PutInstanceJson(const std::string& zone, const std::string& json);
  std::optional<std::string> InstanceJson(const std::string& zone, const std::string& name) const;
  void SetInstanceStatus(const std::string& zone, const std::string& name, const std::string& status);
  int InstanceCount() const;
  void PutFirewallJson(const std::string& json);
  std::vector<std::string> FirewallNames() const;
  void PutNetwork(const std::string& name, std::optional<bool> auto_create_subnetworks);
  void SetProjectMetadata(const std::vector<std::pair<std::string, std::string>>& items);
  void SetIamPolicyJson(const std::string& json);
  std::string IamPolicyJson() const;
  void AddServiceAccount(const std::string& email);
  void AddServiceAccountKey(const std::string& email, const std::string& key_id, const std::string& key_type);
  void SetGuestAttribute(const std::string& zone, const std::string& instance, const std::string& key,
                         const std::string& value);
  // Every operation not yet DONE finishes after `polls` more get/wait calls.
  void FinishOperationsAfter(int polls);
  // Values the metadata server received through PUT guest-attributes/cloudcoop/KEY.
  std::map<std::string, std::string> MetadataGuestAttributes() const;

  // ---- token endpoints ----
  void AddOAuthClient(const std::string& client_id, const std::string& client_secret, const std::string& refresh_token);
  // A service-account key: the fake verifies JWT-bearer assertions with this PEM public key.
  void AddServiceAccountPublicKey(const std::string& email, const std::string& public_key_pem);
  void AddSubjectToken(const std::string& audience, const std::string& subject_token);
  void AllowImpersonation(const std::string& service_account);
  // How many tokens each endpoint issued: "oauth-refresh", "oauth-jwt", "sts", "impersonation", "metadata".
  int TokensIssued(const std::string& kind) const;

  // ---- what happened ----
  std::vector<Request> Requests() const;
  int CountRequests(const std::string& method, const std::string& path_contains) const;
  std::vector<std::string> Bodies(const std::string& method, const std::string& path_contains) const;

  struct State;  // the implementation (fake_gcp.cc)

 private:
  std::unique_ptr<State> s_;
};

// The Google-style error body: {"error":{"code","message","errors":[{"message","domain","reason"}],"status"}}.
std::string ErrorBody(int code, const std::string& reason, const std::string& message);

}  // namespace cloudcoop::fakegcp

#endif  // CLOUDCOOP_TESTING_FAKE_GCP_FAKE_GCP_H_
