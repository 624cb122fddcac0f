#include "cloud/gcp/clients.h"

#include <regex>

#include "cloud/gcp/curl_transport.h"
#include "policy/rules.h"

namespace cloudcoop::gcp {
namespace {

Status CheckName(const std::string& key, const std::string& value, const std::regex& pattern, const char* form) {
  if (std::regex_match(value, pattern)) return OkStatus();
  return InvalidArgumentError(key + " = \"" + value + "\" is not a valid name here")
      .WithFix(std::string("use ") + form + " (cloudcoop config set " + key + " VALUE)");
}

}  // namespace

Status CheckGcpNames(const Settings& s) {
  // RFC 1035 labels, as Compute Engine requires for instance, network and firewall names.
  static const std::regex resource("^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$");
  static const std::regex project("^[a-z][a-z0-9-]{4,28}[a-z0-9]$");
  static const std::regex zone("^[a-z]+-[a-z]+[0-9]+-[a-z]$");
  CC_RETURN_IF_ERROR(CheckName("cloud.gcp.project", s.gcp.project, project, "a project id (6-30 of a-z 0-9 -)"));
  CC_RETURN_IF_ERROR(CheckName("cloud.gcp.zone", s.gcp.zone, zone, "a zone such as us-central1-a"));
  CC_RETURN_IF_ERROR(CheckName("vm.name", s.vm.name, resource, "lowercase letters, digits and -, at most 63"));
  CC_RETURN_IF_ERROR(CheckName("cloud.gcp.network", s.gcp.network, resource, "a VPC network name"));
  if (!s.gcp.subnet.empty()) {
    CC_RETURN_IF_ERROR(CheckName("cloud.gcp.subnet", s.gcp.subnet, resource, "a subnetwork name"));
  }
  if (!s.gcp.firewall_rule.empty()) {
    CC_RETURN_IF_ERROR(CheckName("cloud.gcp.firewall_rule", s.gcp.firewall_rule, resource, "a firewall rule name"));
  }
  for (const auto& tag : s.vm.tags) {
    CC_RETURN_IF_ERROR(CheckName("vm.tags", tag, resource, "network tags of lowercase letters, digits and -"));
  }
  Status sa = policy::CheckServiceAccountEmail(s.gcp.service_account);
  if (!sa.ok()) return sa;
  return OkStatus();
}

StatusOr<std::unique_ptr<GcpClients>> GcpClients::Create(const Settings& settings, ClientOptions options) {
  if (settings.provider != "gcp") {
    return FailedPreconditionError("this command manages a GCP agent host, but cloud.provider = " +
                                   settings.provider)
        .WithFix("cloudcoop config set cloud.provider gcp (and cloud.gcp.project, cloud.gcp.service_account)");
  }
  CC_RETURN_IF_ERROR(CheckGcpNames(settings));
  std::unique_ptr<GcpClients> c(new GcpClients());
  c->settings_ = settings;
  EnvLookup env = options.env ? options.env : ProcessEnv();
  CC_ASSIGN_OR_RETURN(c->endpoints_, Endpoints::FromEnv(env));
  if (options.transport != nullptr) {
    c->transport_ = options.transport;
  } else {
    c->owned_transport_ = std::make_unique<CurlTransport>();
    c->transport_ = c->owned_transport_.get();
  }
  c->clock_ = options.clock != nullptr ? options.clock : &DefaultClock();
  c->sleeper_ = options.sleeper != nullptr ? options.sleeper : &DefaultSleeper();
  RetryOptions retry = options.retry;
  retry.clock = c->clock_;
  retry.sleeper = c->sleeper_;

  CredentialOptions cred;
  cred.access_token_file_flag = options.access_token_file_flag;
  cred.access_token_file_config = settings.gcp.access_token_file;
  cred.allow_key_files = settings.gcp.allow_key_files;
  cred.env = env;
  cred.transport = c->transport_;
  cred.retry = retry;
  cred.clock = c->clock_;
  CC_ASSIGN_OR_RETURN(auto source, ResolveCredentials(cred));
  c->tokens_ = std::make_unique<CachingTokenSource>(std::move(source), c->clock_);
  c->rest_ = std::make_unique<RestClient>(c->transport_, c->tokens_.get(), retry);
  c->compute_ = std::make_unique<ComputeApi>(c->rest_.get(), c->endpoints_.compute, settings.gcp.project);
  c->iam_ = std::make_unique<IamApi>(c->rest_.get(), c->endpoints_.crm, c->endpoints_.iam, settings.gcp.project);
  return c;
}

}  // namespace cloudcoop::gcp
