// Resource Manager (project IAM policy, version 3 so conditional bindings are visible) and IAM
// (service accounts and their keys). Policy writes are read-modify-write with the etag.
#ifndef CLOUDCOOP_CLOUD_GCP_IAM_H_
#define CLOUDCOOP_CLOUD_GCP_IAM_H_

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "cloud/gcp/rest_client.h"
#include "cloud/gcp/types.h"

namespace cloudcoop::gcp {

class IamApi {
 public:
  // `crm_base` and `iam_base` are Endpoints::crm and Endpoints::iam (server roots).
  IamApi(RestClient* rest, std::string crm_base, std::string iam_base, std::string project);

  StatusOr<IamPolicy> GetProjectIamPolicy();
  // Writes `policy` (its etag must be the one read). A concurrent change: kAborted.
  StatusOr<IamPolicy> SetProjectIamPolicy(const IamPolicy& policy);
  // Read-modify-write: `edit` returns whether it changed anything; a concurrent change re-reads and
  // re-applies the edit (at most 3 times).
  StatusOr<IamPolicy> ModifyProjectIamPolicy(const std::function<bool(IamPolicy&)>& edit);

  // Keys of a service account; `user_managed_only` asks for keyTypes=USER_MANAGED.
  StatusOr<std::vector<ServiceAccountKey>> ListServiceAccountKeys(const std::string& email, bool user_managed_only);
  // Empty when the account does not exist. `disabled` is set from the answer.
  StatusOr<std::optional<bool>> ServiceAccountDisabled(const std::string& email);

 private:
  RestClient* rest_;
  std::string crm_base_;
  std::string iam_base_;
  std::string project_;
};

}  // namespace cloudcoop::gcp

#endif  // CLOUDCOOP_CLOUD_GCP_IAM_H_
