// fake_gcp: the fake GCP server as a program, for gcloud, benchmarks and manual runs.
//   fake_gcp [--port N] [--port-file FILE] [--project P] [--token T]... [--delay-ms N]
//            [--operation-polls N] [--network NAME]... [--service-account EMAIL]...
// Prints "fake_gcp listening on http://127.0.0.1:PORT" and serves until SIGINT or SIGTERM.
// Point clients at it with CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE=http://127.0.0.1:PORT/compute/v1/
// (and _IAM, _CLOUDRESOURCEMANAGER=http://127.0.0.1:PORT/) and an access-token file holding a --token.
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "core/files.h"
#include "testing/fake_gcp/fake_gcp.h"
#include "testing/fake_gcp/fake_gcp_server.h"

using cloudcoop::fakegcp::FakeGcp;
using cloudcoop::fakegcp::FakeGcpServer;
using cloudcoop::fakegcp::Fault;
using cloudcoop::fakegcp::FaultKind;
using cloudcoop::fakegcp::Options;

int main(int argc, char** argv) {
  Options options;
  int port = 0;
  std::string port_file;
  std::vector<std::string> tokens, networks, accounts;
  long delay_ms = 0;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "fake_gcp: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--port") port = std::atoi(value().c_str());
    else if (a == "--port-file") port_file = value();
    else if (a == "--project") options.project = value();
    else if (a == "--token") tokens.push_back(value());
    else if (a == "--delay-ms") delay_ms = std::atol(value().c_str());
    else if (a == "--operation-polls") options.operation_polls = std::atoi(value().c_str());
    else if (a == "--network") networks.push_back(value());
    else if (a == "--service-account") accounts.push_back(value());
    else if (a == "--effective-metadata") options.effective_metadata = true;
    else {
      std::fprintf(stderr, "fake_gcp: unknown argument %s (see the comment at the top of fake_gcp_main.cc)\n", a.c_str());
      return 2;
    }
  }
  if (tokens.empty()) tokens.push_back("fake-token");
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);  // before the server threads start: they inherit it

  FakeGcp gcp(options);
  for (const auto& t : tokens) gcp.AddToken(t);
  for (const auto& n : networks) gcp.PutNetwork(n, false);
  for (const auto& sa : accounts) gcp.AddServiceAccount(sa);
  if (delay_ms > 0) {
    Fault f;
    f.kind = FaultKind::kDelay;
    f.times = -1;
    f.delay = std::chrono::milliseconds(delay_ms);
    gcp.AddFault(f);
  }
  FakeGcpServer server(&gcp, port);
  if (!port_file.empty()) {
    auto st = cloudcoop::WriteFileAtomic(port_file, std::to_string(server.port()) + "\n", 0644);
    if (!st.ok()) {
      std::fprintf(stderr, "fake_gcp: %s\n", st.ToString().c_str());
      return 1;
    }
  }
  std::printf("fake_gcp listening on %s (project %s)\n", server.base_url().c_str(), options.project.c_str());
  std::fflush(stdout);
  int sig = 0;
  sigwait(&set, &sig);
  server.Stop();
  return 0;
}
