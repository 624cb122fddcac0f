// What `cloudcoop version` prints: filled in at configure time (build_info.cc.in).
#ifndef CLOUDCOOP_CORE_BUILD_INFO_H_
#define CLOUDCOOP_CORE_BUILD_INFO_H_

namespace cloudcoop {
extern const char kVersion[];
extern const char kGitCommit[];
extern const char kBuildType[];
}  // namespace cloudcoop

#endif  // CLOUDCOOP_CORE_BUILD_INFO_H_
