// Landlock's kernel ABI, defined here because Debian 12's linux-libc-dev (6.1 headers) stops at
// ABI 2: it lacks LANDLOCK_ACCESS_FS_TRUNCATE (ABI 3), the network rights (ABI 4), IOCTL_DEV
// (ABI 5), the scopes (ABI 6) and the logging flags (ABI 7). Every use is gated on the ABI the
// running kernel reports. Values from include/uapi/linux/landlock.h (Linux 6.15).
#ifndef CLOUDCOOP_SANDBOX_LANDLOCK_ABI_H_
#define CLOUDCOOP_SANDBOX_LANDLOCK_ABI_H_

#include <sys/syscall.h>

#include <cstdint>

namespace cloudcoop::sandbox::landlock_abi {

#ifdef SYS_landlock_create_ruleset
inline constexpr long kSysCreateRuleset = SYS_landlock_create_ruleset;
inline constexpr long kSysAddRule = SYS_landlock_add_rule;
inline constexpr long kSysRestrictSelf = SYS_landlock_restrict_self;
#else  // the same numbers on every architecture since 5.13
inline constexpr long kSysCreateRuleset = 444;
inline constexpr long kSysAddRule = 445;
inline constexpr long kSysRestrictSelf = 446;
#endif

inline constexpr uint32_t kCreateRulesetVersion = 1U << 0;

// struct landlock_ruleset_attr; the kernel accepts a prefix of it sized for the ABI in use.
struct RulesetAttr {
  uint64_t handled_access_fs;
  uint64_t handled_access_net;  // ABI 4
  uint64_t scoped;              // ABI 6
};
inline constexpr unsigned long kRulesetAttrSizeV1 = 8;
inline constexpr unsigned long kRulesetAttrSizeV4 = 16;
inline constexpr unsigned long kRulesetAttrSizeV6 = 24;

inline constexpr int kRulePathBeneath = 1;
struct __attribute__((packed)) PathBeneathAttr {
  uint64_t allowed_access;
  int32_t parent_fd;
};

// Filesystem rights.
inline constexpr uint64_t kFsExecute = 1ULL << 0;
inline constexpr uint64_t kFsWriteFile = 1ULL << 1;
inline constexpr uint64_t kFsReadFile = 1ULL << 2;
inline constexpr uint64_t kFsReadDir = 1ULL << 3;
inline constexpr uint64_t kFsRemoveDir = 1ULL << 4;
inline constexpr uint64_t kFsRemoveFile = 1ULL << 5;
inline constexpr uint64_t kFsMakeChar = 1ULL << 6;
inline constexpr uint64_t kFsMakeDir = 1ULL << 7;
inline constexpr uint64_t kFsMakeReg = 1ULL << 8;
inline constexpr uint64_t kFsMakeSock = 1ULL << 9;
inline constexpr uint64_t kFsMakeFifo = 1ULL << 10;
inline constexpr uint64_t kFsMakeBlock = 1ULL << 11;
inline constexpr uint64_t kFsMakeSym = 1ULL << 12;
inline constexpr uint64_t kFsRefer = 1ULL << 13;     // ABI 2
inline constexpr uint64_t kFsTruncate = 1ULL << 14;  // ABI 3
inline constexpr uint64_t kFsIoctlDev = 1ULL << 15;  // ABI 5

// Network rights (ABI 4).
inline constexpr uint64_t kNetBindTcp = 1ULL << 0;
inline constexpr uint64_t kNetConnectTcp = 1ULL << 1;

// Scopes (ABI 6).
inline constexpr uint64_t kScopeAbstractUnixSocket = 1ULL << 0;
inline constexpr uint64_t kScopeSignal = 1ULL << 1;

// landlock_restrict_self() flags (ABI 7).
inline constexpr uint32_t kRestrictSelfLogSameExecOff = 1U << 0;
inline constexpr uint32_t kRestrictSelfLogNewExecOn = 1U << 1;
inline constexpr uint32_t kRestrictSelfLogSubdomainsOff = 1U << 2;

// Every filesystem right the given ABI knows.
constexpr uint64_t FsRightsForAbi(int abi) {
  uint64_t rights = (1ULL << 13) - 1;  // ABI 1: bits 0..12
  if (abi >= 2) rights |= kFsRefer;
  if (abi >= 3) rights |= kFsTruncate;
  if (abi >= 5) rights |= kFsIoctlDev;
  return rights;
}

}  // namespace cloudcoop::sandbox::landlock_abi

#endif  // CLOUDCOOP_SANDBOX_LANDLOCK_ABI_H_
