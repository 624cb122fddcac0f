#include "cloud/gcp/curl_transport.h"

#include <curl/curl.h>
#include <dlfcn.h>

#include <algorithm>
#include <cstring>

#include "cloud/gcp/retry.h"
#include "core/build_info.h"
#include "core/logging.h"
#include "core/strings.h"

namespace cloudcoop::gcp {

// The libcurl functions cloudcoop calls, resolved with dlsym. Names mirror the C API.
struct CurlApi {
  void* library = nullptr;
  CURLcode (*global_init)(long) = nullptr;
  CURL* (*easy_init)() = nullptr;
  CURLcode (*easy_setopt)(CURL*, CURLoption, ...) = nullptr;
  CURLcode (*easy_perform)(CURL*) = nullptr;
  CURLcode (*easy_getinfo)(CURL*, CURLINFO, ...) = nullptr;
  void (*easy_reset)(CURL*) = nullptr;
  void (*easy_cleanup)(CURL*) = nullptr;
  const char* (*easy_strerror)(CURLcode) = nullptr;
  curl_slist* (*slist_append)(curl_slist*, const char*) = nullptr;
  void (*slist_free_all)(curl_slist*) = nullptr;
  char* (*version)() = nullptr;
  ~CurlApi() {
    // The library stays loaded: libcurl and OpenSSL register exit handlers that must not dangle.
  }
};

namespace {

template <typename Fn>
bool Resolve(void* lib, const char* name, Fn* out, std::string* missing) {
  void* sym = dlsym(lib, name);
  if (sym == nullptr) {
    if (!missing->empty()) *missing += ", ";
    *missing += name;
    return false;
  }
  *out = reinterpret_cast<Fn>(sym);
  return true;
}

}  // namespace

StatusOr<std::shared_ptr<const CurlApi>> LoadCurlLibrary(const std::string& soname) {
  void* lib = dlopen(soname.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) {
    const char* why = dlerror();
    return FailedPreconditionError("loading " + soname + " (libcurl, used for HTTPS to Google Cloud): " +
                                   (why != nullptr ? why : "unknown dlopen error"))
        .WithFix("install the libcurl4 package (apt-get install libcurl4); cloudcoop loads it only for cloud commands");
  }
  auto api = std::make_shared<CurlApi>();
  api->library = lib;
  std::string missing;
  Resolve(lib, "curl_global_init", &api->global_init, &missing);
  Resolve(lib, "curl_easy_init", &api->easy_init, &missing);
  Resolve(lib, "curl_easy_setopt", &api->easy_setopt, &missing);
  Resolve(lib, "curl_easy_perform", &api->easy_perform, &missing);
  Resolve(lib, "curl_easy_getinfo", &api->easy_getinfo, &missing);
  Resolve(lib, "curl_easy_reset", &api->easy_reset, &missing);
  Resolve(lib, "curl_easy_cleanup", &api->easy_cleanup, &missing);
  Resolve(lib, "curl_easy_strerror", &api->easy_strerror, &missing);
  Resolve(lib, "curl_slist_append", &api->slist_append, &missing);
  Resolve(lib, "curl_slist_free_all", &api->slist_free_all, &missing);
  Resolve(lib, "curl_version", &api->version, &missing);
  if (!missing.empty()) {
    return FailedPreconditionError(soname + " lacks " + missing + ": it is not a usable libcurl")
        .WithFix("reinstall libcurl4 (apt-get install --reinstall libcurl4)");
  }
  CURLcode rc = api->global_init(CURL_GLOBAL_DEFAULT);
  if (rc != CURLE_OK) {
    return FailedPreconditionError(std::string("curl_global_init failed: ") + api->easy_strerror(rc))
        .WithFix("check the OpenSSL installation (apt-get install --reinstall libssl3 libcurl4)");
  }
  return std::shared_ptr<const CurlApi>(std::move(api));
}

StatusOr<const CurlApi*> LoadCurl() {
  static std::once_flag once;
  static StatusOr<std::shared_ptr<const CurlApi>>* loaded = nullptr;
  std::call_once(once, [] {
    loaded = new StatusOr<std::shared_ptr<const CurlApi>>(LoadCurlLibrary("libcurl.so.4"));
  });
  if (!loaded->ok()) return loaded->status();
  return loaded->value().get();
}

std::string CurlVersion(const CurlApi& api) { return api.version(); }

CurlTransport::CurlTransport(std::string soname) : soname_(std::move(soname)) {}

CurlTransport::~CurlTransport() {
  if (easy_ != nullptr) api_->easy_cleanup(static_cast<CURL*>(easy_));
}

Status CurlTransport::EnsureLoaded() {
  if (api_ != nullptr) return OkStatus();
  if (soname_.empty()) {
    CC_ASSIGN_OR_RETURN(api_, LoadCurl());
  } else {
    CC_ASSIGN_OR_RETURN(owned_, LoadCurlLibrary(soname_));
    api_ = owned_.get();
  }
  easy_ = api_->easy_init();
  if (easy_ == nullptr) {
    api_ = nullptr;
    return InternalError("curl_easy_init returned no handle").WithFix("the process may be out of memory; retry");
  }
  CC_LOG_DEBUG("loaded %s", api_->version());
  return OkStatus();
}

namespace {

struct Sink {
  std::string* body;
  bool too_large = false;
};

size_t WriteBody(char* data, size_t size, size_t n, void* user) {
  auto* sink = static_cast<Sink*>(user);
  size_t bytes = size * n;
  if (sink->body->size() + bytes > kMaxResponseBytes) {
    sink->too_large = true;
    return 0;  // aborts the transfer with CURLE_WRITE_ERROR
  }
  sink->body->append(data, bytes);
  return bytes;
}

size_t WriteHeader(char* data, size_t size, size_t n, void* user) {
  auto* headers = static_cast<std::vector<HttpHeader>*>(user);
  std::string_view line(data, size * n);
  if (StartsWith(line, "HTTP/")) {
    headers->clear();  // a new response (after 100 Continue or a redirect): forget the previous one
    return size * n;
  }
  size_t colon = line.find(':');
  if (colon != std::string_view::npos) {
    headers->push_back({std::string(Trim(line.substr(0, colon))), std::string(Trim(line.substr(colon + 1)))});
  }
  return size * n;
}

Status MapCurlError(CURLcode rc, const std::string& detail, const HttpRequest& req, bool too_large) {
  std::string what = req.method + " " + req.url;
  std::string cause = detail + " (curl error " + std::to_string(static_cast<int>(rc)) + ")";
  if (too_large) {
    return ResourceExhaustedError(what + ": the response is larger than " + FormatBytes(kMaxResponseBytes))
        .WithFix("this is not a Google Cloud API response; check the endpoint (CLOUDSDK_API_ENDPOINT_OVERRIDES_*)");
  }
  switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
      return DeadlineExceededError(what + ": no complete answer within " +
                                   FormatSeconds(req.timeout) + ": " + cause)
          .WithFix("check the network path to Google Cloud; the command is safe to re-run");
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SSL_CONNECT_ERROR:
      return UnavailableError(what + ": cannot connect: " + cause)
          .WithFix("check the network and the endpoint (CLOUDSDK_API_ENDPOINT_OVERRIDES_* if set)");
    case CURLE_PARTIAL_FILE:
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return UnavailableError(what + ": the connection dropped before the whole answer arrived: " + cause)
          .WithFix("a transient network failure; the command is safe to re-run");
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
      return FailedPreconditionError(what + ": TLS verification failed: " + cause)
          .WithFix("check the system CA certificates (apt-get install ca-certificates) and any TLS-intercepting proxy");
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
      return FailedPreconditionError(what + ": the URL is not usable: " + cause)
          .WithFix("check the endpoint (CLOUDSDK_API_ENDPOINT_OVERRIDES_* if set)");
    default:
      return InternalError(what + ": HTTP transfer failed: " + cause)
          .WithFix("re-run with --verbose and report the error if it persists");
  }
}

}  // namespace

StatusOr<HttpResponse> CurlTransport::Send(const HttpRequest& req) {
  std::lock_guard<std::mutex> lock(mu_);
  CC_RETURN_IF_ERROR(EnsureLoaded());
  CC_RETURN_IF_ERROR(ParseUrl(req.url).status());
  CURL* h = static_cast<CURL*>(easy_);
  const CurlApi& c = *api_;
  c.easy_reset(h);  // keeps live connections, DNS and TLS session caches

  HttpResponse resp;
  Sink sink{&resp.body};
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_slist* headers = nullptr;
  for (const auto& hd : req.headers) headers = c.slist_append(headers, (hd.name + ": " + hd.value).c_str());
  headers = c.slist_append(headers, "Expect:");  // no 100-continue round trip for bodies
  std::string user_agent = std::string("cloudcoop/") + std::string(kVersion);
  long timeout_ms = static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(req.timeout).count());
  long connect_ms = std::min<long>(timeout_ms, 10000);

  c.easy_setopt(h, CURLOPT_URL, req.url.c_str());
  c.easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  c.easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  c.easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  c.easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
  c.easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
  c.easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
  c.easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");  // gzip and deflate, decoded by curl
  c.easy_setopt(h, CURLOPT_NOPROXY, "127.0.0.1,localhost,::1,169.254.169.254,metadata.google.internal");
  c.easy_setopt(h, CURLOPT_USERAGENT, user_agent.c_str());
  c.easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  c.easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  c.easy_setopt(h, CURLOPT_WRITEFUNCTION, &WriteBody);
  c.easy_setopt(h, CURLOPT_WRITEDATA, &sink);
  c.easy_setopt(h, CURLOPT_HEADERFUNCTION, &WriteHeader);
  c.easy_setopt(h, CURLOPT_HEADERDATA, &resp.headers);
  if (req.method == "GET") {
    c.easy_setopt(h, CURLOPT_HTTPGET, 1L);
  } else {
    c.easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method.c_str());
    if (req.method != "DELETE" || !req.body.empty()) {
      c.easy_setopt(h, CURLOPT_POSTFIELDS, req.body.c_str());
      c.easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
    }
  }
  CURLcode rc = c.easy_perform(h);
  c.slist_free_all(headers);
  c.easy_setopt(h, CURLOPT_ERRORBUFFER, nullptr);
  if (rc != CURLE_OK) {
    std::string detail = errbuf[0] != '\0' ? errbuf : c.easy_strerror(rc);
    return MapCurlError(rc, detail, req, sink.too_large);
  }
  long code = 0;
  c.easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
  resp.status = static_cast<int>(code);
  return resp;
}

}  // namespace cloudcoop::gcp
