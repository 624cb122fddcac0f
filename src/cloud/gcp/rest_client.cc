#include "cloud/gcp/rest_client.h"

#include <nlohmann/json.hpp>
#include <regex>

#include "cloud/gcp/json_util.h"
#include "core/logging.h"
#include "core/strings.h"

namespace cloudcoop::gcp {
namespace {

using nlohmann::json;

struct ErrorBody {
  std::string message;
  std::string reason;      // errors[0].reason or ErrorInfo.reason
  std::string status;      // "PERMISSION_DENIED"
  std::string permission;  // from ErrorInfo metadata or the message
};

ErrorBody ParseErrorBody(std::string_view body) {
  ErrorBody out;
  json j = json::parse(body.begin(), body.end(), nullptr, false);
  const json* e = j.is_discarded() ? nullptr : js::Obj(j, "error");
  if (e == nullptr) {
    std::string text(Trim(body.substr(0, 300)));
    out.message = text.empty() ? "(no error body)" : text;
    return out;
  }
  out.message = js::Str(*e, "message");
  out.status = js::Str(*e, "status");
  if (const json* errors = js::Arr(*e, "errors"); errors != nullptr && !errors->empty()) {
    out.reason = js::Str((*errors)[0], "reason");
    if (out.message.empty()) out.message = js::Str((*errors)[0], "message");
  }
  if (const json* details = js::Arr(*e, "details")) {
    for (const auto& d : *details) {
      if (const json* md = js::Obj(d, "metadata")) {
        if (out.permission.empty()) out.permission = js::Str(*md, "permission");
      }
      if (out.reason.empty()) out.reason = js::Str(d, "reason");
    }
  }
  if (out.permission.empty()) {
    static const std::regex required("Required '([A-Za-z0-9_.]+)' permission");
    static const std::regex denied("[Pp]ermission '([A-Za-z0-9_.]+)' denied");
    std::smatch m;
    if (std::regex_search(out.message, m, required) || std::regex_search(out.message, m, denied)) {
      out.permission = m[1];
    }
  }
  return out;
}

bool IsRateLimit(const ErrorBody& e) {
  std::string r = ToLower(e.reason);
  return r == "ratelimitexceeded" || r == "userratelimitexceeded";
}

bool IsQuota(const ErrorBody& e) {
  if (IsRateLimit(e)) return false;
  std::string r = ToLower(e.reason);
  std::string m = ToLower(e.message);
  return r == "quotaexceeded" || r == "quota_exceeded" ||
         (m.find("quota") != std::string::npos && m.find("exceeded") != std::string::npos);
}

std::string Redacted(const HttpRequest& req) { return req.method + " " + req.url; }

}  // namespace

Status ApiError(int http_status, std::string_view body, std::string_view what, std::string_view identity) {
  ErrorBody e = ParseErrorBody(body);
  std::string head = std::string(what) + ": HTTP " + std::to_string(http_status) + ": " + e.message;
  std::string who = identity.empty() ? "the identity in use" : "the identity in use (" + std::string(identity) + ")";
  switch (http_status) {
    case 400:
      return InvalidArgumentError(head).WithFix("the request was refused as invalid; check the configuration values "
                                                "it used (`cloudcoop config show`)");
    case 401:
      return PermissionDeniedError(head + " (the credentials were not accepted)")
          .WithFix("refresh them: gcloud auth application-default login (or write a fresh token to the access-token "
                   "file)");
    case 403:
      if (IsQuota(e)) {
        return ResourceExhaustedError(head + " (quota exceeded)")
            .WithFix("request a higher quota (console: IAM & Admin > Quotas), or choose a smaller size or another zone");
      }
      if (IsRateLimit(e)) {
        return UnavailableError(head + " (rate limited)");
      }
      if (!e.permission.empty()) {
        return PermissionDeniedError(std::string(what) + ": permission " + e.permission + " is missing (HTTP 403: " +
                                     e.message + ")")
            .WithFix("grant " + who + " a role that includes " + e.permission + " on the project");
      }
      return PermissionDeniedError(head + " (permission denied)")
          .WithFix("grant " + who + " the roles this command needs, and check that the API is enabled");
    case 404:
      return NotFoundError(head).WithFix("check cloud.gcp.project, cloud.gcp.zone and the resource name");
    case 409:
      if (e.status == "ABORTED" || ToLower(e.reason) == "aborted" || ToLower(e.message).find("etag") != std::string::npos) {
        return AbortedError(head + " (a concurrent change; the etag no longer matches)").WithFix("re-run the command");
      }
      return AlreadyExistsError(head).WithFix("the resource exists already; re-run to pick it up");
    case 412:
      return AbortedError(head + " (someone else changed it since it was read)").WithFix("re-run the command");
    case 429:
      return UnavailableError(head + " (rate limited)");
    default:
      if (http_status >= 500) return UnavailableError(head + " (server error)");
      return InternalError(head).WithFix("re-run with --verbose; report the error if it persists");
  }
}

RestClient::RestClient(HttpTransport* transport, CachingTokenSource* tokens, RetryOptions retry)
    : transport_(transport), tokens_(tokens), retry_(retry) {}

StatusOr<std::string> RestClient::Call(const RestCall& call) {
  HttpRequest req;
  req.method = call.method;
  req.url = call.url;
  req.timeout = call.timeout;
  req.body = call.body;
  req.headers.push_back({"Accept", "application/json"});
  if (!call.body.empty() || call.method == "POST" || call.method == "PATCH" || call.method == "PUT") {
    req.headers.push_back({"Content-Type", "application/json"});
  }
  std::function<StatusOr<std::string>(AttemptHints&)> attempt = [&](AttemptHints& hints) -> StatusOr<std::string> {
    for (int auth_try = 0;; ++auth_try) {
      CC_ASSIGN_OR_RETURN(std::string token, tokens_->Token());
      HttpRequest authed = req;
      authed.headers.push_back({"Authorization", "Bearer " + token});
      Duration t0 = DefaultClock().Monotonic();
      auto resp = transport_->Send(authed);
      long ms = static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(DefaultClock().Monotonic() - t0).count());
      if (!resp.ok()) {
        CC_LOG_DEBUG("%s -> %s (%ld ms)", Redacted(req).c_str(), resp.status().message().c_str(), ms);
        return resp.status().Annotate(call.what);
      }
      CC_LOG_DEBUG("%s -> HTTP %d (%ld ms)", Redacted(req).c_str(), resp->status, ms);
      if (resp->status >= 200 && resp->status < 300) return std::move(resp->body);
      if (resp->status == 401 && auth_try == 0) {
        tokens_->Invalidate();  // expired early or revoked: fetch once more before giving up
        continue;
      }
      if (auto after = ParseInt64(resp->Header("Retry-After")); after && *after > 0) {
        hints.retry_after = std::chrono::seconds(*after);
      }
      return ApiError(resp->status, resp->body, call.what, tokens_->Describe());
    }
  };
  return RetryLoop<std::string>(retry_, call.idempotency, call.what, attempt);
}

}  // namespace cloudcoop::gcp
