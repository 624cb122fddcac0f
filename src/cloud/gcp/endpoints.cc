#include "cloud/gcp/endpoints.h"

#include <cstdlib>

#include "cloud/gcp/http.h"
#include "core/strings.h"

namespace cloudcoop::gcp {

EnvLookup ProcessEnv() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

StatusOr<Endpoints> Endpoints::FromEnv(const EnvLookup& env) {
  Endpoints e;
  struct Override {
    const char* suffix;
    std::string* field;
  };
  const Override overrides[] = {
      {"COMPUTE", &e.compute},         {"IAM", &e.iam},         {"CLOUDRESOURCEMANAGER", &e.crm},
      {"SECRETMANAGER", &e.secretmanager}, {"LOGGING", &e.logging}, {"MONITORING", &e.monitoring},
  };
  for (const auto& o : overrides) {
    std::string name = std::string("CLOUDSDK_API_ENDPOINT_OVERRIDES_") + o.suffix;
    auto value = env(name);
    if (!value || Trim(*value).empty()) continue;
    std::string url(Trim(*value));
    Status st = CheckCredentialUrl(url, name + " =");
    if (!st.ok()) return st;
    if (!EndsWith(url, "/")) url += "/";
    *o.field = url;
  }
  return e;
}

}  // namespace cloudcoop::gcp
