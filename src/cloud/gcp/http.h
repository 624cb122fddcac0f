// The REST transport seam: one HTTP request in, one response out. The real implementation is
// CurlTransport (libcurl loaded with dlopen on first use, ADR 0005); tests use the fake GCP, either
// in-process (testing/fake_gcp/fake_transport.h) or over loopback HTTP with the real transport.
#ifndef CLOUDCOOP_CLOUD_GCP_HTTP_H_
#define CLOUDCOOP_CLOUD_GCP_HTTP_H_

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/status.h"

namespace cloudcoop::gcp {

struct HttpHeader {
  std::string name;
  std::string value;
};

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::vector<HttpHeader> headers;
  std::string body;
  Duration timeout = std::chrono::seconds(30);
};

struct HttpResponse {
  int status = 0;
  std::vector<HttpHeader> headers;
  std::string body;
  // The first header with this name (case-insensitive), or empty.
  std::string Header(std::string_view name) const;
};

class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  // Returns any HTTP response, whatever its status. Fails only when no complete response arrived:
  //   kUnavailable        connection refused or reset, or dropped before the whole response came;
  //   kDeadlineExceeded   the request's timeout expired;
  //   kFailedPrecondition TLS verification failed, or the URL is not usable (never retried);
  //   kInternal           the HTTP library could not be loaded.
  virtual StatusOr<HttpResponse> Send(const HttpRequest& request) = 0;
};

struct ParsedUrl {
  std::string scheme;  // "https"
  std::string host;    // "compute.googleapis.com", "127.0.0.1", "::1" (no brackets)
  int port = 0;        // explicit or the scheme's default
  std::string path;    // "/compute/v1/projects/p" (with the query, if any)
};
StatusOr<ParsedUrl> ParseUrl(std::string_view url);

// 127.0.0.0/8, ::1 and "localhost".
bool IsLoopbackHost(std::string_view host);

// Credentials (bearer tokens, refresh tokens, client secrets) may only travel over https, or over
// plain http to a loopback address or the metadata server. `what` names the URL's role in errors.
Status CheckCredentialUrl(std::string_view url, std::string_view what);

// Percent-encoding for query values and form bodies (RFC 3986 unreserved characters kept).
std::string UrlEncode(std::string_view text);
// "a=1&b=2" from pairs, each side encoded.
std::string FormEncode(const std::vector<std::pair<std::string, std::string>>& fields);

// A random version-4 UUID (the requestId of a Compute mutation).
std::string NewUuid();

}  // namespace cloudcoop::gcp

#endif  // CLOUDCOOP_CLOUD_GCP_HTTP_H_
