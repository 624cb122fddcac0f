#include "core/status.h"

#include <cerrno>
#include <cstring>

namespace cloudcoop {

std::string_view StatusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return "OK";
    case StatusCode::kInvalidArgument: return "INVALID_ARGUMENT";
    case StatusCode::kNotFound: return "NOT_FOUND";
    case StatusCode::kAlreadyExists: return "ALREADY_EXISTS";
    case StatusCode::kPermissionDenied: return "PERMISSION_DENIED";
    case StatusCode::kFailedPrecondition: return "FAILED_PRECONDITION";
    case StatusCode::kUnavailable: return "UNAVAILABLE";
    case StatusCode::kDeadlineExceeded: return "DEADLINE_EXCEEDED";
    case StatusCode::kResourceExhausted: return "RESOURCE_EXHAUSTED";
    case StatusCode::kAborted: return "ABORTED";
    case StatusCode::kUnimplemented: return "UNIMPLEMENTED";
    case StatusCode::kInternal: return "INTERNAL";
    case StatusCode::kDataLoss: return "DATA_LOSS";
    case StatusCode::kCheckFailed: return "CHECK_FAILED";
  }
  return "UNKNOWN";
}

Status::Status(StatusCode code, std::string message, SourceLocation where)
    : code_(code), message_(std::move(message)), file_(where.file_name()), line_(where.line()) {}

Status Status::Annotate(std::string_view context) const {
  if (ok()) return *this;
  Status copy = *this;
  copy.message_ = std::string(context) + ": " + message_;
  return copy;
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  std::string out = message_;
  if (!fix_.empty()) out += " (fix: " + fix_ + ")";
  return out;
}

std::string ErrnoName(int err) {
  // strerrorname_np is glibc >= 2.32, which Debian 12 has.
  const char* name = strerrorname_np(err);
  return name != nullptr ? std::string(name) : std::to_string(err);
}

Status ErrnoError(int err, std::string operation, SourceLocation where) {
  StatusCode code = StatusCode::kInternal;
  switch (err) {
    case EPERM:
    case EACCES:
    case EROFS: code = StatusCode::kPermissionDenied; break;
    case ENOENT:
    case ESRCH: code = StatusCode::kNotFound; break;
    case EEXIST: code = StatusCode::kAlreadyExists; break;
    case EINVAL:
    case ENAMETOOLONG: code = StatusCode::kInvalidArgument; break;
    case EAGAIN:
    case EBUSY:
    case EINTR: code = StatusCode::kUnavailable; break;
    case ENOSPC:
    case ENOMEM:
    case EMFILE:
    case ENFILE:
    case EDQUOT: code = StatusCode::kResourceExhausted; break;
    case ENOSYS:
    case EOPNOTSUPP: code = StatusCode::kUnimplemented; break;
    case ETIMEDOUT: code = StatusCode::kDeadlineExceeded; break;
    default: break;
  }
  return Status(code, operation + ": " + std::strerror(err) + " (" + ErrnoName(err) + ")", where);
}

int ExitCodeFor(const Status& status) {
  switch (status.code()) {
    case StatusCode::kOk: return 0;
    case StatusCode::kInvalidArgument: return 2;
    case StatusCode::kDataLoss:
    case StatusCode::kCheckFailed: return 3;
    default: return 1;
  }
}

}  // namespace cloudcoop
