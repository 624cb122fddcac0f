// HTTPS through libcurl, loaded with dlopen("libcurl.so.4") on the first request (ADR 0005):
// linking libcurl would cost ~9 ms on every start of the binary, including every sandbox start.
// Only the handful of functions used are resolved, into a small table. One easy handle per
// transport keeps connections alive between requests (curl_easy_reset keeps the connection cache).
#ifndef CLOUDCOOP_CLOUD_GCP_CURL_TRANSPORT_H_
#define CLOUDCOOP_CLOUD_GCP_CURL_TRANSPORT_H_

#include <memory>
#include <mutex>
#include <string>

#include "cloud/gcp/http.h"

namespace cloudcoop::gcp {

struct CurlApi;  // the function table (curl_transport.cc)

// Loads `soname` and resolves the functions cloudcoop uses. The default library is loaded once per
// process and shared; the error names the library, dlerror() and the package that provides it.
StatusOr<const CurlApi*> LoadCurl();
StatusOr<std::shared_ptr<const CurlApi>> LoadCurlLibrary(const std::string& soname);
// "libcurl/7.88.1 OpenSSL/3.0.x ..." of a loaded table.
std::string CurlVersion(const CurlApi& api);

class CurlTransport : public HttpTransport {
 public:
  // `soname` empty: the shared default (libcurl.so.4). Nothing is loaded until the first Send.
  explicit CurlTransport(std::string soname = "");
  ~CurlTransport() override;
  CurlTransport(const CurlTransport&) = delete;
  CurlTransport& operator=(const CurlTransport&) = delete;

  StatusOr<HttpResponse> Send(const HttpRequest& request) override;

 private:
  Status EnsureLoaded();

  std::string soname_;
  std::mutex mu_;
  std::shared_ptr<const CurlApi> owned_;  // for a non-default soname
  const CurlApi* api_ = nullptr;
  void* easy_ = nullptr;  // CURL*
};

// Largest response body accepted (a bigger one is an error, not a truncation).
inline constexpr size_t kMaxResponseBytes = 64u << 20;

}  // namespace cloudcoop::gcp

#endif  // CLOUDCOOP_CLOUD_GCP_CURL_TRANSPORT_H_
