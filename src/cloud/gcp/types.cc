#include "cloud/gcp/types.h"

namespace cloudcoop::gcp {

VmState StateFromStatus(std::string_view s) {
  if (s == "RUNNING") return VmState::kRunning;
  if (s == "TERMINATED" || s == "STOPPED" || s == "SUSPENDED") return VmState::kStopped;
  if (s == "PROVISIONING" || s == "STAGING" || s == "REPAIRING") return VmState::kStarting;
  if (s == "STOPPING" || s == "SUSPENDING") return VmState::kStopping;
  return VmState::kUnknown;
}

std::string_view VmStateName(VmState s) {
  switch (s) {
    case VmState::kRunning: return "running";
    case VmState::kStopped: return "stopped";
    case VmState::kStarting: return "starting";
    case VmState::kStopping: return "stopping";
    case VmState::kNotFound: return "not_found";
    case VmState::kUnknown: return "unknown";
  }
  return "unknown";
}

std::string_view VmStateGlyph(VmState s) {
  switch (s) {
    case VmState::kRunning: return "●";
    case VmState::kStopped: return "○";
    case VmState::kStarting: return "◐";
    case VmState::kStopping: return "◑";
    case VmState::kNotFound: return "✗";
    case VmState::kUnknown: return "?";
  }
  return "?";
}

namespace {
const std::string* Find(const std::vector<MetadataItem>& items, std::string_view key) {
  for (const auto& item : items) {
    if (item.key == key) return &item.value;
  }
  return nullptr;
}
}  // namespace

const std::string* Instance::MetadataValue(std::string_view key) const { return Find(metadata, key); }
const std::string* ProjectInfo::MetadataValue(std::string_view key) const { return Find(common_metadata, key); }

}  // namespace cloudcoop::gcp
