#include "testing/fake_gcp/fixture.h"

#include <stdlib.h>
#include <unistd.h>

#include <cstdlib>
#include <stdexcept>

#include "config/loader.h"
#include "core/files.h"
#include "core/strings.h"

namespace cloudcoop::fakegcp {

void SeedStandardProject(FakeGcp& gcp) {
  gcp.PutNetwork(kNetwork, false);
  gcp.AddServiceAccount(kServiceAccount);
  gcp.AddToken(kToken);
  gcp.SetIamPolicyJson(std::string(R"({"version":1,"etag":"BwYAAAAAAAE=","bindings":[)") +
                       R"({"role":"roles/logging.logWriter","members":["serviceAccount:)" + kServiceAccount + R"("]},)" +
                       R"({"role":"roles/monitoring.metricWriter","members":["serviceAccount:)" + kServiceAccount +
                       R"("]},{"role":"roles/owner","members":["user:admin@example.com"]}]})");
}

std::vector<std::string> GcpConfigOverrides(const std::vector<std::string>& extra) {
  std::vector<std::string> out = {
      "cloud.provider=gcp",
      std::string("cloud.gcp.project=") + kProject,
      std::string("cloud.gcp.zone=") + kZone,
      std::string("cloud.gcp.service_account=") + kServiceAccount,
      std::string("cloud.gcp.network=") + kNetwork,
      std::string("vm.name=") + kVmName,
  };
  out.insert(out.end(), extra.begin(), extra.end());
  return out;
}

Settings GcpTestSettings(const std::vector<std::string>& extra) {
  EntryMap entries = DefaultEntries();
  for (const auto& o : GcpConfigOverrides(extra)) {
    auto kv = ParseOverride(o);
    if (!kv.ok()) throw std::runtime_error("bad test override " + o + ": " + kv.status().message());
    entries[kv->first] = Entry{kv->second, Layer::kFlag, "--set"};
  }
  return BuildSettings(entries);
}

std::string GcpConfigToml(const std::vector<std::string>& extra) {
  // Dotted keys are valid TOML: cloud.gcp.project = "x".
  std::string out;
  for (const auto& o : GcpConfigOverrides(extra)) {
    size_t eq = o.find('=');
    std::string key = o.substr(0, eq);
    std::string value = o.substr(eq + 1);
    const KeySpec* spec = FindKeySpec(key);
    bool quoted = spec == nullptr || (spec->type != ValueType::kBool && spec->type != ValueType::kInt &&
                                      spec->type != ValueType::kNumber && spec->type != ValueType::kStringList);
    if (spec != nullptr && spec->type == ValueType::kStringList) {
      std::vector<std::string> items;
      for (const auto& item : Split(value, ',', true)) items.push_back("\"" + item + "\"");
      value = "[" + Join(items, ", ") + "]";
    }
    out += key + " = " + (quoted ? "\"" + value + "\"" : value) + "\n";
  }
  return out;
}

InProcessGcp::InProcessGcp(Options options, const std::vector<std::string>& extra_config)
    : gcp(options), transport(&gcp), sleeper(&clock), settings(GcpTestSettings(extra_config)) {
  SeedStandardProject(gcp);
  gcp.SetBaseUrl(kFakeTransportBase);
  const char* tmp = std::getenv("TMPDIR");
  std::string tmpl = std::string(tmp != nullptr && *tmp ? tmp : "/tmp") + "/cc-fake-token.XXXXXX";
  int fd = mkstemp(tmpl.data());
  if (fd < 0) throw std::runtime_error("mkstemp failed");
  close(fd);
  token_file = tmpl;
  if (!WriteFileAtomic(token_file, std::string(kToken) + "\n").ok()) throw std::runtime_error("write token");
  Connect();
}

LoadedConfig GcpTestConfig(const std::vector<std::string>& extra) {
  EntryMap entries = DefaultEntries();
  for (const auto& o : GcpConfigOverrides(extra)) {
    auto kv = ParseOverride(o);
    if (!kv.ok()) throw std::runtime_error("bad test override " + o + ": " + kv.status().message());
    entries[kv->first] = Entry{kv->second, Layer::kFlag, "--set"};
  }
  auto loaded = FinishConfig(entries, LoadOptions{}, ConfigPaths{}, {});
  if (!loaded.ok()) throw std::runtime_error("test config does not validate: " + loaded.status().ToString());
  return std::move(*loaded);
}

InProcessGcp::~InProcessGcp() {
  clients.reset();
  if (!token_file.empty()) unlink(token_file.c_str());
}

void InProcessGcp::Connect() { clients = NewClients(); }

std::unique_ptr<gcp::GcpClients> InProcessGcp::NewClients() {
  gcp::ClientOptions o;
  std::string base = kFakeTransportBase;
  std::string tf = token_file;
  o.env = [base, tf](const std::string& name) -> std::optional<std::string> {
    if (name == "CLOUDSDK_AUTH_ACCESS_TOKEN_FILE") return tf;
    if (name == "CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE") return base + "/compute/v1/";
    if (StartsWith(name, "CLOUDSDK_API_ENDPOINT_OVERRIDES_")) return base + "/";
    return std::nullopt;
  };
  o.transport = &transport;
  o.clock = &clock;
  o.sleeper = &sleeper;
  o.retry.seed = 42;
  auto c = gcp::GcpClients::Create(settings, o);
  if (!c.ok()) throw std::runtime_error("GcpClients::Create: " + c.status().ToString());
  return std::move(*c);
}

}  // namespace cloudcoop::fakegcp
