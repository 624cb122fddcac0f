// The typed view of a validated configuration. Modules take the part they need (GcpSettings,
// AgentSettings, ...) rather than the whole configuration.
#ifndef CLOUDCOOP_CONFIG_SETTINGS_H_
#define CLOUDCOOP_CONFIG_SETTINGS_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace cloudcoop {

struct GcpSettings {
  std::string project;
  std::string zone;
  std::string service_account;
  std::string network;
  std::string subnet;
  std::vector<std::string> allowed_roles;
  bool allow_key_files = false;
  std::string access_token_file;
  std::string firewall_rule;  // the IAP-only SSH ingress rule cloudcoop manages
  // "us-central1" for zone "us-central1-a".
  std::string Region() const;
};

struct VmSettings {
  std::string name;
  std::string size;
  std::string machine_type;  // resolved: vm.machine_type, else vm.sizes.<size>
  std::map<std::string, std::string> sizes;
  int64_t disk_size_gb = 50;
  std::string image;
  bool spot = false;
  int64_t max_uptime_minutes = 0;
  std::vector<std::string> tags;
};

struct SshSettings {
  std::string user;
  int64_t port = 22;
  std::string access;  // iap | direct
  std::vector<std::string> source_ranges;
};

struct ProfileSettings {
  std::string name;
  std::string command;
  std::string resume_command;
  std::map<std::string, std::string> env;
};

struct AgentLimits {
  double cpus = 2;
  uint64_t memory_bytes = 6ULL << 30;
  int64_t pids = 1024;
};

struct AgentSettings {
  std::string default_profile;
  AgentLimits limits;
  std::string network;  // none | egress | host
  std::map<std::string, ProfileSettings> profiles;
};

struct SecretSettings {
  std::vector<std::string> secret_manager;
  std::vector<std::string> redact_env;
};

struct AuditSettings {
  bool enabled = true;
  bool exec_capture = true;
  uint64_t segment_max_bytes = 16ULL << 20;
  int64_t retention_segments = 0;
  uint64_t transcript_max_bytes = 32ULL << 20;
};

struct TuiSettings {
  int64_t refresh_interval_sec = 1;
  bool color = true;
};

struct Settings {
  std::string provider;  // local | gcp
  GcpSettings gcp;
  VmSettings vm;
  SshSettings ssh;
  AgentSettings agents;
  SecretSettings secrets;
  AuditSettings audit;
  TuiSettings tui;
};

// What the agent host offers, for limit validation. Read from /proc on the real host; tests inject.
struct HostFacts {
  double cpus = 0;
  uint64_t memory_bytes = 0;
  int64_t pid_max = 0;
  static HostFacts Read();
};

}  // namespace cloudcoop

#endif  // CLOUDCOOP_CONFIG_SETTINGS_H_
