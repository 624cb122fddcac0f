// Status and StatusOr<T>: the error model at every module boundary (no exceptions cross one).
//
// A Status carries a code, a message that names the operation, the object and the cause, an optional
// fix (what the user should do), and the source location where it was made. The CLI maps codes to
// exit statuses (ExitCodeFor): usage and configuration errors are 2, failed checks and failed
// verifications are 3, everything else is 1.
#ifndef CLOUDCOOP_CORE_STATUS_H_
#define CLOUDCOOP_CORE_STATUS_H_

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace cloudcoop {

// Where a Status was made. Like std::source_location, which clang 14 (Debian 12) cannot compile
// with libstdc++ 12; the builtins work in both g++ and clang.
struct SourceLocation {
  static constexpr SourceLocation current(const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
    return SourceLocation{file, line};
  }
  const char* file_name() const { return file; }
  int line() const { return line_; }
  const char* file = "";
  int line_ = 0;
};

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,     // bad user input: flags, names, config values (exit 2)
  kNotFound,
  kAlreadyExists,
  kPermissionDenied,
  kFailedPrecondition,  // the system is not in a state where this can run
  kUnavailable,         // transient: retry may help
  kDeadlineExceeded,
  kResourceExhausted,
  kAborted,             // concurrency conflict (etag, fingerprint, lock)
  kUnimplemented,
  kInternal,
  kDataLoss,            // corrupted or tampered data (exit 3)
  kCheckFailed,         // a security check or verification failed (exit 3)
};

std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message,
         SourceLocation where = SourceLocation::current());

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  const std::string& fix() const { return fix_; }
  const char* file() const { return file_; }
  int line() const { return line_; }

  // Adds the action that resolves the error ("run `cloudcoop config set ...`").
  Status& WithFix(std::string fix) & {
    fix_ = std::move(fix);
    return *this;
  }
  Status&& WithFix(std::string fix) && {
    fix_ = std::move(fix);
    return std::move(*this);
  }
  // Prefixes the message with context from a caller ("loading config: ...").
  Status Annotate(std::string_view context) const;

  // "message (fix: ...)" on one line; used in logs and JSON.
  std::string ToString() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
  std::string fix_;
  const char* file_ = "";
  int line_ = 0;
};

inline Status OkStatus() { return Status(); }

#define CLOUDCOOP_STATUS_FACTORY(Name, Code)                                               \
  inline Status Name(std::string message,                                                  \
                     SourceLocation where = SourceLocation::current()) {       \
    return Status(StatusCode::Code, std::move(message), where);                            \
  }
CLOUDCOOP_STATUS_FACTORY(InvalidArgumentError, kInvalidArgument)
CLOUDCOOP_STATUS_FACTORY(NotFoundError, kNotFound)
CLOUDCOOP_STATUS_FACTORY(AlreadyExistsError, kAlreadyExists)
CLOUDCOOP_STATUS_FACTORY(PermissionDeniedError, kPermissionDenied)
CLOUDCOOP_STATUS_FACTORY(FailedPreconditionError, kFailedPrecondition)
CLOUDCOOP_STATUS_FACTORY(UnavailableError, kUnavailable)
CLOUDCOOP_STATUS_FACTORY(DeadlineExceededError, kDeadlineExceeded)
CLOUDCOOP_STATUS_FACTORY(ResourceExhaustedError, kResourceExhausted)
CLOUDCOOP_STATUS_FACTORY(AbortedError, kAborted)
CLOUDCOOP_STATUS_FACTORY(UnimplementedError, kUnimplemented)
CLOUDCOOP_STATUS_FACTORY(InternalError, kInternal)
CLOUDCOOP_STATUS_FACTORY(DataLossError, kDataLoss)
CLOUDCOOP_STATUS_FACTORY(CheckFailedError, kCheckFailed)
#undef CLOUDCOOP_STATUS_FACTORY

// An error from a failed system call: "<operation>: <strerror> (errno NAME)". The code follows the
// errno (EACCES/EPERM -> kPermissionDenied, ENOENT -> kNotFound, EEXIST -> kAlreadyExists, ...).
Status ErrnoError(int err, std::string operation,
                  SourceLocation where = SourceLocation::current());

// "EPERM", "ENOENT", ... for messages and tests; the number for unknown values.
std::string ErrnoName(int err);

// Process exit status for a command that ended with this status.
int ExitCodeFor(const Status& status);

template <typename T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(const Status& status) : value_(status) { assert(!status.ok()); }  // NOLINT
  StatusOr(Status&& status) : value_(std::move(status)) {                    // NOLINT
    assert(!std::get<Status>(value_).ok());
  }
  StatusOr(const T& value) : value_(value) {}        // NOLINT
  StatusOr(T&& value) : value_(std::move(value)) {}  // NOLINT
  template <typename U>
    requires(std::is_constructible_v<T, U &&> && !std::is_same_v<std::decay_t<U>, Status> &&
             !std::is_same_v<std::decay_t<U>, StatusOr<T>> && !std::is_same_v<std::decay_t<U>, T>)
  StatusOr(U&& value) : value_(T(std::forward<U>(value))) {}  // NOLINT

  bool ok() const { return std::holds_alternative<T>(value_); }
  Status status() const { return ok() ? OkStatus() : std::get<Status>(value_); }

  const T& value() const& {
    assert(ok());
    return std::get<T>(value_);
  }
  T& value() & {
    assert(ok());
    return std::get<T>(value_);
  }
  // By value: `for (auto& x : *ListDir(d))` must not bind to a destroyed temporary.
  T value() && {
    assert(ok());
    return std::get<T>(std::move(value_));
  }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  T operator*() && { return std::move(*this).value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }

 private:
  std::variant<Status, T> value_;
};

}  // namespace cloudcoop

// Returns early from the enclosing function when `expr` (a Status) is not ok.
#define CC_RETURN_IF_ERROR(expr)                  \
  do {                                            \
    ::cloudcoop::Status cc_status_ = (expr);      \
    if (!cc_status_.ok()) return cc_status_;      \
  } while (0)

#define CC_CONCAT_INNER(a, b) a##b
#define CC_CONCAT(a, b) CC_CONCAT_INNER(a, b)
// `CC_ASSIGN_OR_RETURN(auto x, Foo());` assigns the value or returns the error.
#define CC_ASSIGN_OR_RETURN(lhs, expr) CC_ASSIGN_OR_RETURN_IMPL(CC_CONCAT(cc_sor_, __LINE__), lhs, expr)
#define CC_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                             \
  if (!tmp.ok()) return tmp.status();            \
  lhs = std::move(tmp).value()

#endif  // CLOUDCOOP_CORE_STATUS_H_
