// The VM's startup script (metadata `startup-script`). GCE runs it on every boot, so it is
// idempotent. Full provisioning comes later; this one prepares the host minimally and keeps the
// provisioning status contract of the reference implementation (reference-system.md section 5):
//   /var/run/cloudcoop/provision-status    first line pending|running|completed|failed; on failure
//                                          the second line is "Step n/N: <task> failed with exit code X"
//   /var/run/cloudcoop/provision-progress  "<n>/<total> <description>"
//   /var/log/cloudcoop/provision.log       everything the script prints
// It also mirrors status and progress into guest attributes (namespace `cloudcoop`), so that
// `cloudcoop status` reads them through the Compute API without SSH. Never holds a secret.
#ifndef CLOUDCOOP_CLOUD_GCP_STARTUP_SCRIPT_H_
#define CLOUDCOOP_CLOUD_GCP_STARTUP_SCRIPT_H_

#include <string_view>

namespace cloudcoop::gcp {

std::string_view StartupScript();

inline constexpr char kGuestAttributeNamespace[] = "cloudcoop/";
inline constexpr char kGuestStatusKey[] = "provision-status";
inline constexpr char kGuestProgressKey[] = "provision-progress";

}  // namespace cloudcoop::gcp

#endif  // CLOUDCOOP_CLOUD_GCP_STARTUP_SCRIPT_H_
