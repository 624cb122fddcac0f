#include "audit/checks.h"

#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "audit/control.h"
#include "audit/verify.h"
#include "config/loader.h"
#include "core/files.h"
#include "core/strings.h"

namespace cloudcoop::audit {
namespace {

using policy::CheckContext;
using policy::CheckOutcome;

std::string Octal(mode_t mode) {
  char buf[8];
  (void)std::snprintf(buf, sizeof buf, "%03o", mode & 0777);
  return buf;
}

// The closest existing ancestor of a path that does not exist yet.
std::string ExistingAncestor(std::string path) {
  while (!PathExists(path) && path != "/" && path != ".") path = Dirname(path);
  return path;
}

CheckOutcome LogWritable(const CheckContext& ctx) {
  if (ctx.config == nullptr) {
    return policy::Fail("cannot evaluate: the configuration did not load", "run `cloudcoop config validate` and fix what it reports");
  }
  if (!ctx.config->settings().audit.enabled) {
    return policy::NotApplicable("audit.enabled = false: nothing is recorded (see config.audit)");
  }
  std::string dir = AuditDirFor(ctx.state_dir);
  struct stat st;
  if (lstat(dir.c_str(), &st) != 0) {
    if (errno != ENOENT) return policy::Fail("cannot stat " + dir + ": " + std::strerror(errno), "check the state directory");
    std::string base = ExistingAncestor(dir);
    if (access(base.c_str(), W_OK) != 0) {
      return policy::Fail(dir + " does not exist and " + base + " is not writable", "create " + dir + " (mode 700) or set CLOUDCOOP_STATE_DIR");
    }
    return policy::Pass(dir + " will be created (mode 700) by the first recorded action");
  }
  if (!S_ISDIR(st.st_mode)) return policy::Fail(dir + " is not a directory", "move it aside; cloudcoop creates the audit directory");
  if (st.st_uid != geteuid()) {
    return policy::Fail(dir + " is owned by uid " + std::to_string(st.st_uid) + ", not by this user (uid " +
                            std::to_string(geteuid()) + ")",
                        "run cloudcoop as the user that owns the audit log, or chown it");
  }
  if ((st.st_mode & 077) != 0) {
    return policy::Fail(dir + " has mode " + Octal(st.st_mode) + ": other users can read or change audit records",
                        "chmod 700 " + dir);
  }
  if (access(dir.c_str(), W_OK) != 0) {
    return policy::Fail(dir + " is not writable: " + std::string(std::strerror(errno)), "fix the permissions of " + dir);
  }
  std::string head = JoinPath(dir, kHeadFileName);
  if (PathExists(head) && access(head.c_str(), W_OK) != 0) {
    return policy::Fail(head + " is not writable: " + std::string(std::strerror(errno)), "fix the permissions of " + head);
  }
  struct statvfs vfs;
  if (statvfs(dir.c_str(), &vfs) != 0) return policy::Fail("statvfs " + dir + ": " + std::strerror(errno), "check the file system");
  if ((vfs.f_flag & ST_RDONLY) != 0) return policy::Fail(dir + " is on a read-only file system", "remount it read-write");
  uint64_t free_bytes = static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize;
  uint64_t need = ctx.config->settings().audit.segment_max_bytes;
  if (free_bytes < need) {
    return policy::Warn("only " + FormatBytes(free_bytes) + " free for " + dir + " (less than one segment, " + FormatBytes(need) + ")",
                        "free space, or set audit.retention_segments to bound the log");
  }
  return policy::Pass(dir + " is private (mode " + Octal(st.st_mode) + ") and writable; " + FormatBytes(free_bytes) + " free");
}

CheckOutcome ChainVerifies(const CheckContext& ctx) {
  std::string dir = AuditDirFor(ctx.state_dir);
  auto report = Verify({dir, std::nullopt});
  if (!report.ok()) return policy::Fail("cannot verify " + dir + ": " + report.status().message(), report.status().fix());
  if (report->missing) {
    return policy::Warn("no audit log at " + dir + " yet (nothing recorded, or it was removed)",
                        "record an action (e.g. `cloudcoop config set`) and compare with a head saved by `cloudcoop audit head`");
  }
  if (report->problem) {
    const VerifyProblem& p = *report->problem;
    std::string where = p.segment.empty() ? "" : p.segment + (p.line ? ":" + std::to_string(p.line) : "") + ": ";
    return policy::Fail("the audit chain does not verify: " + where + p.message,
                        "run `cloudcoop audit verify` for details; keep " + dir + " as evidence");
  }
  return policy::Pass(std::to_string(report->records) + " records in " + std::to_string(report->segments) +
                      " segment(s) verify; head at seq " + std::to_string(report->head.seq));
}

}  // namespace

void RegisterAuditChecks(policy::CheckRegistry& registry) {
  registry.Add({"audit.writable", "the audit log is private and writable", "audit", "", policy::Severity::kHigh, LogWritable});
  registry.Add({"audit.chain", "the audit log's hash chain and head verify", "audit", "", policy::Severity::kHigh, ChainVerifies});
}

}  // namespace cloudcoop::audit
