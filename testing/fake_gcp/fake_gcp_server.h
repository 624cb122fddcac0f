// Serves a FakeGcp over HTTP on 127.0.0.1 (a free port), so the real curl transport and gcloud
// can talk to it. Faults that delay or drop answers happen here, on the wire.
#ifndef CLOUDCOOP_TESTING_FAKE_GCP_FAKE_GCP_SERVER_H_
#define CLOUDCOOP_TESTING_FAKE_GCP_FAKE_GCP_SERVER_H_

#include <map>
#include <memory>
#include <string>

#include "testing/fake_gcp/fake_gcp.h"

namespace cloudcoop::fakegcp {

class FakeGcpServer {
 public:
  // Listens on 127.0.0.1:`port` (0: a free port) and serves until destroyed. Aborts the test
  // process if it cannot listen (a broken fixture, not a test result).
  explicit FakeGcpServer(FakeGcp* gcp, int port = 0);
  ~FakeGcpServer();
  FakeGcpServer(const FakeGcpServer&) = delete;
  FakeGcpServer& operator=(const FakeGcpServer&) = delete;

  int port() const { return port_; }
  std::string base_url() const;  // http://127.0.0.1:PORT
  // gcloud's endpoint-override variables pointing at this server (used by cloudcoop too).
  std::map<std::string, std::string> EndpointEnv() const;
  // Stops serving (later connections are refused). Idempotent.
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
};

}  // namespace cloudcoop::fakegcp

#endif  // CLOUDCOOP_TESTING_FAKE_GCP_FAKE_GCP_SERVER_H_
