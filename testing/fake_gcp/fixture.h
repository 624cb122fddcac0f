// Shared setup for tests that talk to the fake GCP: a standard project (custom VPC, the dedicated
// service account, an accepted token), matching settings, and in-process clients (FakeTransport,
// fake clock and sleeper) so retries and polling cost no real time.
#ifndef CLOUDCOOP_TESTING_FAKE_GCP_FIXTURE_H_
#define CLOUDCOOP_TESTING_FAKE_GCP_FIXTURE_H_

#include <memory>
#include <string>
#include <vector>

#include "cloud/gcp/clients.h"
#include "config/loader.h"
#include "config/settings.h"
#include "core/clock.h"
#include "testing/fake_gcp/fake_gcp.h"
#include "testing/fake_gcp/fake_transport.h"

namespace cloudcoop::fakegcp {

inline constexpr char kProject[] = "test-project";
inline constexpr char kZone[] = "us-central1-a";
inline constexpr char kVmName[] = "cloudcoop-agents";
inline constexpr char kNetwork[] = "cloudcoop-vpc";
inline constexpr char kServiceAccount[] = "agent-sandbox@test-project.iam.gserviceaccount.com";
inline constexpr char kToken[] = "fake-token-abc123";

// Custom-mode network, the service account, the token, a policy granting it logWriter and
// metricWriter.
void SeedStandardProject(FakeGcp& gcp);

// "KEY=VALUE" lines for a gcp provider matching SeedStandardProject (plus `extra`).
std::vector<std::string> GcpConfigOverrides(const std::vector<std::string>& extra = {});
// Built-in defaults with GcpConfigOverrides(extra) applied (no files, no environment).
Settings GcpTestSettings(const std::vector<std::string>& extra = {});
// The same as a validated configuration (for code that takes a LoadedConfig, such as checks).
LoadedConfig GcpTestConfig(const std::vector<std::string>& extra = {});
// The same as a TOML file's content, for CLI tests (--config FILE).
std::string GcpConfigToml(const std::vector<std::string>& extra = {});

// A fake GCP answered in-process, with clients wired to it.
struct InProcessGcp {
  explicit InProcessGcp(Options options = {}, const std::vector<std::string>& extra_config = {});
  ~InProcessGcp();  // removes the token file
  InProcessGcp(const InProcessGcp&) = delete;
  InProcessGcp& operator=(const InProcessGcp&) = delete;
  FakeGcp gcp;
  FakeTransport transport;
  FakeClock clock;
  FakeSleeper sleeper;
  Settings settings;
  std::unique_ptr<gcp::GcpClients> clients;
  // Builds (or rebuilds, after settings changed) the clients; the token comes from an env lookup
  // with CLOUDSDK_AUTH_ACCESS_TOKEN_FILE pointing at a file holding kToken.
  void Connect();
  // Another set of clients on the same fake (e.g. for a checks LiveReader factory).
  std::unique_ptr<gcp::GcpClients> NewClients();
  std::string token_file;
};

}  // namespace cloudcoop::fakegcp

#endif  // CLOUDCOOP_TESTING_FAKE_GCP_FIXTURE_H_
