#include "node/control_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <nlohmann/json.hpp>

#include "core/files.h"

namespace cloudcoop::node {

Status FileControlLog::Record(const ControlEvent& event) {
  nlohmann::json j = {{"time", FormatRfc3339(clock_.Now())},
                      {"action", event.action},
                      {"outcome", event.outcome},
                      {"uid", getuid()},
                      {"pid", getpid()}};
  if (!event.agent.empty()) j["agent"] = event.agent;
  if (!event.details.empty()) j["details"] = event.details;
  std::string line = j.dump() + "\n";
  UniqueFd fd(open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd.valid()) return ErrnoError(errno, "open the control log " + path_);
  // One write(2) of a line under PIPE_BUF-ish size is atomic with O_APPEND for concurrent writers.
  CC_RETURN_IF_ERROR(WriteAll(fd.get(), line, path_));
  if (fdatasync(fd.get()) != 0) return ErrnoError(errno, "sync the control log " + path_);
  return OkStatus();
}

}  // namespace cloudcoop::node
