#include "sandbox/layers.h"

#include <cstring>

namespace cloudcoop::sandbox {
namespace {

struct LayerInfo {
  Layer layer;
  std::string_view name;
  bool may_degrade;
};

constexpr LayerInfo kLayers[] = {
    {Layer::kPlan, "plan", false},
    {Layer::kState, "state", false},
    {Layer::kIds, "ids", false},
    {Layer::kCgroup, "cgroup", true},
    {Layer::kNetns, "netns", false},
    {Layer::kPidns, "pidns", false},
    {Layer::kMountns, "mountns", false},
    {Layer::kUtsns, "utsns", false},
    {Layer::kIpcns, "ipcns", false},
    {Layer::kUserns, "userns", true},
    {Layer::kRlimits, "rlimits", false},
    {Layer::kCaps, "caps", false},
    {Layer::kNoNewPrivs, "no_new_privs", false},
    {Layer::kLandlock, "landlock", true},
    {Layer::kSeccomp, "seccomp", false},
    {Layer::kExec, "exec", false},
    {Layer::kSupervisor, "supervisor", false},
    {Layer::kAudit, "audit", false},
};

constexpr std::string_view kPrefix = "sandbox layer ";

}  // namespace

std::string_view LayerName(Layer layer) {
  for (const auto& info : kLayers) {
    if (info.layer == layer) return info.name;
  }
  return "?";
}

std::optional<Layer> ParseLayer(std::string_view name) {
  for (const auto& info : kLayers) {
    if (info.name == name) return info.layer;
  }
  return std::nullopt;
}

bool LayerMayDegrade(Layer layer) {
  for (const auto& info : kLayers) {
    if (info.layer == layer) return info.may_degrade;
  }
  return false;
}

std::vector<std::string> DegradableLayerNames() {
  std::vector<std::string> names;
  for (const auto& info : kLayers) {
    if (info.may_degrade) names.emplace_back(info.name);
  }
  return names;
}

Status LayerErrno(Layer layer, std::string_view syscall, std::string_view object, int err, std::string fix,
                  SourceLocation where) {
  std::string msg(kPrefix);
  msg += LayerName(layer);
  msg += ": ";
  msg += syscall;
  if (!object.empty()) {
    msg += ' ';
    msg += object;
  }
  msg += " failed: ";
  msg += std::strerror(err);
  msg += " (errno " + ErrnoName(err) + ")";
  StatusCode code = StatusCode::kFailedPrecondition;
  if (err == EPERM || err == EACCES) code = StatusCode::kPermissionDenied;
  if (err == ENOENT) code = StatusCode::kNotFound;
  if (err == ENOSYS || err == EOPNOTSUPP) code = StatusCode::kUnimplemented;
  return Status(code, std::move(msg), where).WithFix(std::move(fix));
}

Status LayerVerifyError(Layer layer, std::string what, std::string fix, SourceLocation where) {
  return Status(StatusCode::kCheckFailed,
                std::string(kPrefix) + std::string(LayerName(layer)) + ": verification failed: " + what,
                where)
      .WithFix(std::move(fix));
}

Status LayerError(Layer layer, StatusCode code, std::string what, std::string fix, SourceLocation where) {
  return Status(code, std::string(kPrefix) + std::string(LayerName(layer)) + ": " + what, where)
      .WithFix(std::move(fix));
}

std::string LayerOfMessage(std::string_view message) {
  size_t at = message.find(kPrefix);
  if (at == std::string_view::npos) return "";
  message.remove_prefix(at + kPrefix.size());
  size_t colon = message.find(':');
  if (colon == std::string_view::npos) return "";
  return std::string(message.substr(0, colon));
}

}  // namespace cloudcoop::sandbox
