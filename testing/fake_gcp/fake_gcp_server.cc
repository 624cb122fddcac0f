#include "testing/fake_gcp/fake_gcp_server.h"

#include <httplib.h>

#include <cstdio>
#include <cstdlib>
#include <thread>

#include "core/strings.h"

namespace cloudcoop::fakegcp {

struct FakeGcpServer::Impl {
  httplib::Server server;
  std::thread thread;
  bool stopped = false;
};

FakeGcpServer::FakeGcpServer(FakeGcp* gcp, int port) : impl_(std::make_unique<Impl>()) {
  auto handler = [gcp](const httplib::Request& hreq, httplib::Response& hres) {
    Request req;
    req.method = hreq.method;
    req.path = hreq.path;
    for (const auto& [k, v] : hreq.params) req.query[k] = v;
    for (const auto& [k, v] : hreq.headers) req.headers.push_back({k, v});
    req.body = hreq.body;
    Response resp = gcp->Handle(req);
    if (resp.delay.count() > 0) std::this_thread::sleep_for(resp.delay);
    hres.status = resp.status;
    std::string content_type = "application/json; charset=UTF-8";
    for (const auto& h : resp.headers) {
      if (ToLower(h.name) == "content-type") content_type = h.value;
      else hres.set_header(h.name, h.value);
    }
    if (resp.drop) {
      // Promise more than is sent, then give up: the client sees the connection drop mid-answer.
      hres.set_content_provider(resp.body.size() + 4096, content_type,
                                [](size_t, size_t, httplib::DataSink&) { return false; });
      return;
    }
    hres.set_content(resp.body, content_type);
  };
  const char* any = ".*";
  impl_->server.Get(any, handler);
  impl_->server.Post(any, handler);
  impl_->server.Put(any, handler);
  impl_->server.Patch(any, handler);
  impl_->server.Delete(any, handler);
  impl_->server.set_payload_max_length(16u << 20);
  impl_->server.set_tcp_nodelay(true);  // else Nagle + delayed ACK add ~40 ms to every answer
  if (port == 0) {
    port_ = impl_->server.bind_to_any_port("127.0.0.1");
  } else if (impl_->server.bind_to_port("127.0.0.1", port)) {
    port_ = port;
  } else {
    port_ = -1;
  }
  if (port_ <= 0) {
    std::fprintf(stderr, "fake GCP: cannot listen on 127.0.0.1:%d\n", port);
    std::abort();
  }
  gcp->SetBaseUrl(base_url());
  impl_->thread = std::thread([this] { impl_->server.listen_after_bind(); });
  for (int i = 0; i < 2000 && !impl_->server.is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

FakeGcpServer::~FakeGcpServer() { Stop(); }

void FakeGcpServer::Stop() {
  if (impl_->stopped) return;
  impl_->stopped = true;
  impl_->server.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

std::string FakeGcpServer::base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }

std::map<std::string, std::string> FakeGcpServer::EndpointEnv() const {
  std::string root = base_url() + "/";
  return {{"CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE", root + "compute/v1/"},
          {"CLOUDSDK_API_ENDPOINT_OVERRIDES_IAM", root},
          {"CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDRESOURCEMANAGER", root},
          {"CLOUDSDK_API_ENDPOINT_OVERRIDES_SECRETMANAGER", root},
          {"CLOUDSDK_API_ENDPOINT_OVERRIDES_LOGGING", root},
          {"CLOUDSDK_API_ENDPOINT_OVERRIDES_MONITORING", root}};
}

}  // namespace cloudcoop::fakegcp
