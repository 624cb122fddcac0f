// Sandbox identities: one unprivileged uid (gid = uid) per sandbox, never shared by two running
// sandboxes, recorded under the state directory, plus the /etc/passwd and /etc/group the sandbox
// sees (generated, so tools that look their user up work).
//
// Layout under <state>/sandbox/:
//   lock             flock held while allocating or collecting stale allocations
//   uids/<uid>       one file per allocated uid: "owner NAME\nkind ephemeral|persistent\n"; the
//                    supervisor of a running sandbox holds an flock on it for the sandbox's lifetime,
//                    so "in use" is exactly "locked" and a killed supervisor frees it automatically;
//                    an unlocked ephemeral file is a free uid (kept for reuse: no file churn)
//   owners/<name>    symlink to the uid reserved for a persistent owner (an agent)
// and, for the whole host whatever the state directory, /run/cloudcoop/uid-claims: a running
// supervisor also holds an OFD write lock on the byte at offset <uid> of that one (empty) file, so
// two state directories (CLOUDCOOP_STATE_DIR) never run two sandboxes under one uid.
// See docs/adr/0008-sandbox-identity.md.
#ifndef CLOUDCOOP_SANDBOX_IDS_H_
#define CLOUDCOOP_SANDBOX_IDS_H_

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

#include "core/files.h"
#include "core/status.h"

namespace cloudcoop::sandbox::ids {

// The host-wide claims file (see above).
inline constexpr char kHostClaimsFile[] = "/run/cloudcoop/uid-claims";

// A uid held for one running sandbox. The flock on `fd` is the claim in the state directory; the
// lock on `host_claim` is the claim on the host.
struct Lease {
  uint32_t uid = 0;
  uint32_t gid = 0;
  bool ephemeral = true;  // removed at release (allocated for this run only)
  std::string path;
  UniqueFd fd;
  UniqueFd host_claim;
};

// Takes `fixed` (an agent's reserved uid; it must be free or reserved for `owner`) or the lowest
// free uid of [base, base+count) for this run. Fails if the uid is held by a running sandbox of
// this state directory or of any other (`claims_file`; tests pass their own).
StatusOr<Lease> AcquireInParent(const std::string& state_dir, const std::string& owner,
                                std::optional<uint32_t> fixed, uint32_t base, uint32_t count,
                                const std::string& claims_file = kHostClaimsFile);
// Drops the claim (an ephemeral uid's file stays, free for the next start).
void ReleaseInParent(Lease& lease);

// Persistent allocations for agents: the same uid every time the owner starts, so its files keep
// their owner. ReserveForOwner is idempotent.
StatusOr<uint32_t> ReserveForOwner(const std::string& state_dir, const std::string& owner, uint32_t base,
                                   uint32_t count);
Status ReleaseOwner(const std::string& state_dir, const std::string& owner);

// Removes ephemeral allocation files nobody holds. Returns how many.
StatusOr<int> CollectStale(const std::string& state_dir);

// The files the sandbox sees at /etc/passwd and /etc/group.
std::string GeneratePasswd(const std::string& user, uint32_t uid, uint32_t gid, const std::string& home,
                           const std::string& shell);
std::string GenerateGroup(const std::string& user, uint32_t gid);

}  // namespace cloudcoop::sandbox::ids

#endif  // CLOUDCOOP_SANDBOX_IDS_H_
