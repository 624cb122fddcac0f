#include "cloud/gcp/auth.h"

#include <nlohmann/json.hpp>

#include "cloud/gcp/crypto.h"
#include "cloud/gcp/json_util.h"
#include "core/files.h"
#include "core/logging.h"
#include "core/strings.h"

namespace cloudcoop::gcp {
namespace {

using nlohmann::json;

constexpr char kDefaultTokenUri[] = "https://oauth2.googleapis.com/token";
constexpr char kTokenExchangeGrant[] = "urn:ietf:params:oauth:grant-type:token-exchange";
constexpr char kAccessTokenType[] = "urn:ietf:params:oauth:token-type:access_token";
constexpr char kJwtBearerGrant[] = "urn:ietf:params:oauth:grant-type:jwt-bearer";
constexpr char kKeyFileAdvice[] =
    "use your own identity (`gcloud auth application-default login`), impersonation "
    "(`gcloud auth application-default login --impersonate-service-account=SA_EMAIL`), or workload identity "
    "federation (an external_account file from `gcloud iam workload-identity-pools create-cred-config`); "
    "only if you must, set cloud.gcp.allow_key_files = true (then `cloudcoop check` fails config.key-files)";

Clock& ClockOf(const CredentialOptions& o) { return o.clock != nullptr ? *o.clock : DefaultClock(); }

// The body of an error answer from a token endpoint: OAuth ({"error","error_description"}) or
// Google-style ({"error":{"message"}}).
std::string TokenErrorDetail(const std::string& body) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return body.substr(0, 200);
  if (const json* e = js::Obj(j, "error")) return js::Str(*e, "message");
  std::string detail = js::Str(j, "error");
  std::string desc = js::Str(j, "error_description");
  if (!desc.empty()) detail += (detail.empty() ? "" : ": ") + desc;
  return detail.empty() ? body.substr(0, 200) : detail;
}

// One token-endpoint call with retries (token exchanges are safe to repeat). `what` names the
// exchange, `fix` says what to do when the endpoint refuses.
StatusOr<json> TokenCall(const CredentialOptions& o, HttpRequest req, const std::string& what, const std::string& fix) {
  if (o.transport == nullptr) return InternalError(what + ": no HTTP transport configured");
  CC_RETURN_IF_ERROR(CheckCredentialUrl(req.url, what + " URL"));
  req.timeout = std::chrono::seconds(30);
  CC_LOG_DEBUG("%s: %s %s", what.c_str(), req.method.c_str(), req.url.c_str());
  std::function<StatusOr<HttpResponse>(AttemptHints&)> attempt = [&](AttemptHints&) -> StatusOr<HttpResponse> {
    CC_ASSIGN_OR_RETURN(HttpResponse resp, o.transport->Send(req));
    if (resp.status == 429 || resp.status >= 500) {
      return UnavailableError(what + ": HTTP " + std::to_string(resp.status) + " from " + req.url + ": " +
                              TokenErrorDetail(resp.body));
    }
    return resp;
  };
  CC_ASSIGN_OR_RETURN(HttpResponse resp, RetryLoop<HttpResponse>(o.retry, Idempotency::kIdempotent, what, attempt));
  if (resp.status < 200 || resp.status >= 300) {
    return PermissionDeniedError(what + " was refused (HTTP " + std::to_string(resp.status) + " from " + req.url +
                                 "): " + TokenErrorDetail(resp.body))
        .WithFix(fix);
  }
  return js::Parse(resp.body, "the answer of " + what);
}

HttpRequest FormPost(const std::string& url, const std::vector<std::pair<std::string, std::string>>& fields) {
  HttpRequest req;
  req.method = "POST";
  req.url = url;
  req.headers = {{"Content-Type", "application/x-www-form-urlencoded"}, {"Accept", "application/json"}};
  req.body = FormEncode(fields);
  return req;
}

// {access_token, expires_in} as issued by OAuth, STS and the metadata server.
StatusOr<AccessToken> OAuthToken(const json& j, const CredentialOptions& o, const std::string& what) {
  AccessToken t;
  t.value = js::Str(j, "access_token");
  if (t.value.empty()) return InternalError(what + ": the answer has no access_token");
  auto expires_in = js::Int64(j, "expires_in");
  t.expiry = ClockOf(o).Now() + std::chrono::seconds(expires_in.value_or(3600));
  return t;
}

// ---- 1. access-token file ------------------------------------------------------------------

class TokenFileSource : public TokenSource {
 public:
  TokenFileSource(std::string path, std::string via) : path_(std::move(path)), via_(std::move(via)) {}
  StatusOr<AccessToken> Fetch() override {
    auto content = ReadFile(path_);
    if (!content.ok()) {
      return Status(content.status().code(), "reading the access-token file " + path_ + " (" + via_ +
                                                 "): " + content.status().message())
          .WithFix("write a current token into it: gcloud auth print-access-token > " + path_);
    }
    std::string token(Trim(*content));
    if (token.empty() || token.find_first_of(" \t\r\n") != std::string::npos) {
      return InvalidArgumentError("the access-token file " + path_ + " (" + via_ +
                                  ") does not hold exactly one token")
          .WithFix("write a current token into it: gcloud auth print-access-token > " + path_);
    }
    return AccessToken{token, SystemTime::max()};
  }
  std::string Describe() const override { return "access-token file " + path_ + " (" + via_ + ")"; }

 private:
  std::string path_;
  std::string via_;
};

// ---- 2. metadata server --------------------------------------------------------------------

class MetadataSource : public TokenSource {
 public:
  MetadataSource(std::string base, const CredentialOptions& o) : base_(std::move(base)), o_(o) {}
  StatusOr<AccessToken> Fetch() override {
    HttpRequest req;
    req.url = base_ + "/computeMetadata/v1/instance/service-accounts/default/token";
    req.headers = {{"Metadata-Flavor", "Google"}};
    std::string what = "getting the VM service account's token from the metadata server";
    CC_ASSIGN_OR_RETURN(json j, TokenCall(o_, req, what,
                                          "check that the VM has a service account attached "
                                          "(cloud.gcp.service_account) with the cloud-platform scope"));
    return OAuthToken(j, o_, what);
  }
  std::string Describe() const override { return "the GCE metadata server (" + base_ + ")"; }

 private:
  std::string base_;
  CredentialOptions o_;
};

// ---- 3a. authorized_user -------------------------------------------------------------------

class AuthorizedUserSource : public TokenSource {
 public:
  AuthorizedUserSource(const json& j, std::string origin, const CredentialOptions& o)
      : client_id_(js::Str(j, "client_id")),
        client_secret_(js::Str(j, "client_secret")),
        refresh_token_(js::Str(j, "refresh_token")),
        token_uri_(js::Str(j, "token_uri").empty() ? kDefaultTokenUri : js::Str(j, "token_uri")),
        origin_(std::move(origin)),
        o_(o) {}
  Status Validate() const {
    if (client_id_.empty() || client_secret_.empty() || refresh_token_.empty()) {
      return InvalidArgumentError(origin_ + ": an authorized_user credential needs client_id, client_secret and "
                                            "refresh_token")
          .WithFix("recreate it: gcloud auth application-default login");
    }
    return CheckCredentialUrl(token_uri_, origin_ + ": token_uri");
  }
  StatusOr<AccessToken> Fetch() override {
    std::string what = "refreshing the user token of " + origin_;
    CC_ASSIGN_OR_RETURN(json j, TokenCall(o_,
                                          FormPost(token_uri_, {{"grant_type", "refresh_token"},
                                                                {"client_id", client_id_},
                                                                {"client_secret", client_secret_},
                                                                {"refresh_token", refresh_token_}}),
                                          what, "log in again: gcloud auth application-default login"));
    return OAuthToken(j, o_, what);
  }
  std::string Describe() const override { return "gcloud ADC (authorized_user) in " + origin_; }

 private:
  std::string client_id_, client_secret_, refresh_token_, token_uri_, origin_;
  CredentialOptions o_;
};

// ---- 3b. service_account key file (only when explicitly allowed) ---------------------------

class ServiceAccountKeySource : public TokenSource {
 public:
  ServiceAccountKeySource(const json& j, std::string origin, const CredentialOptions& o)
      : email_(js::Str(j, "client_email")),
        key_(js::Str(j, "private_key")),
        key_id_(js::Str(j, "private_key_id")),
        token_uri_(js::Str(j, "token_uri").empty() ? kDefaultTokenUri : js::Str(j, "token_uri")),
        origin_(std::move(origin)),
        o_(o) {}
  Status Validate() const {
    if (email_.empty() || key_.empty()) {
      return InvalidArgumentError(origin_ + ": a service_account key file needs client_email and private_key")
          .WithFix(kKeyFileAdvice);
    }
    return CheckCredentialUrl(token_uri_, origin_ + ": token_uri");
  }
  StatusOr<AccessToken> Fetch() override {
    auto now = std::chrono::duration_cast<std::chrono::seconds>(ClockOf(o_).Now().time_since_epoch()).count();
    json header = {{"alg", "RS256"}, {"typ", "JWT"}};
    if (!key_id_.empty()) header["kid"] = key_id_;
    json claims = {{"iss", email_}, {"scope", kCloudPlatformScope}, {"aud", token_uri_},
                   {"iat", now},    {"exp", now + 3600}};
    std::string signing_input = Base64UrlEncode(header.dump()) + "." + Base64UrlEncode(claims.dump());
    CC_ASSIGN_OR_RETURN(std::string sig, RsaSha256Sign(key_, signing_input));
    std::string what = "exchanging a signed JWT of the key file " + origin_;
    CC_ASSIGN_OR_RETURN(json j, TokenCall(o_,
                                          FormPost(token_uri_, {{"grant_type", kJwtBearerGrant},
                                                                {"assertion", signing_input + "." + Base64UrlEncode(sig)}}),
                                          what, "the key may be disabled or deleted; " + std::string(kKeyFileAdvice)));
    return OAuthToken(j, o_, what);
  }
  std::string Describe() const override {
    return "service-account key file " + origin_ + " (" + email_ + "; allowed by cloud.gcp.allow_key_files)";
  }

 private:
  std::string email_, key_, key_id_, token_uri_, origin_;
  CredentialOptions o_;
};

// ---- generateAccessToken (impersonation), shared by 3c and 3d ------------------------------

StatusOr<AccessToken> GenerateAccessToken(const CredentialOptions& o, const std::string& url,
                                          const std::string& source_token, const std::vector<std::string>& delegates,
                                          const std::vector<std::string>& scopes, int64_t lifetime_s,
                                          const std::string& what) {
  json body = {{"scope", scopes.empty() ? std::vector<std::string>{kCloudPlatformScope} : scopes},
               {"lifetime", std::to_string(lifetime_s) + "s"}};
  if (!delegates.empty()) body["delegates"] = delegates;
  HttpRequest req;
  req.method = "POST";
  req.url = url;
  req.headers = {{"Authorization", "Bearer " + source_token}, {"Content-Type", "application/json"}};
  req.body = body.dump();
  CC_ASSIGN_OR_RETURN(json j, TokenCall(o, req, what,
                                        "grant the source identity roles/iam.serviceAccountTokenCreator on the "
                                        "target service account (on the account, not the project)"));
  AccessToken t;
  t.value = js::Str(j, "accessToken");
  if (t.value.empty()) return InternalError(what + ": the answer has no accessToken");
  SystemTime expiry;
  t.expiry = ParseRfc3339(js::Str(j, "expireTime"), &expiry) ? expiry
                                                              : ClockOf(o).Now() + std::chrono::seconds(lifetime_s);
  return t;
}

class ImpersonatedSource : public TokenSource {
 public:
  ImpersonatedSource(std::unique_ptr<TokenSource> source, std::string url, std::vector<std::string> delegates,
                     std::vector<std::string> scopes, std::string origin, const CredentialOptions& o)
      : source_(std::move(source)),
        url_(std::move(url)),
        delegates_(std::move(delegates)),
        scopes_(std::move(scopes)),
        origin_(std::move(origin)),
        o_(o) {}
  StatusOr<AccessToken> Fetch() override {
    CC_ASSIGN_OR_RETURN(AccessToken src, source_->Fetch());
    return GenerateAccessToken(o_, url_, src.value, delegates_, scopes_, 3600,
                               "impersonating " + Target() + " (" + origin_ + ")");
  }
  std::string Describe() const override {
    return "impersonation of " + Target() + " via " + source_->Describe();
  }

 private:
  std::string Target() const {
    size_t at = url_.rfind("/serviceAccounts/");
    size_t colon = url_.rfind(':');
    if (at == std::string::npos || colon == std::string::npos || colon < at) return url_;
    return url_.substr(at + 17, colon - at - 17);
  }
  std::unique_ptr<TokenSource> source_;
  std::string url_;
  std::vector<std::string> delegates_, scopes_;
  std::string origin_;
  CredentialOptions o_;
};

// ---- 3d. external_account (workload identity federation) -----------------------------------

class ExternalAccountSource : public TokenSource {
 public:
  ExternalAccountSource(const json& j, std::string origin, const CredentialOptions& o)
      : audience_(js::Str(j, "audience")),
        subject_token_type_(js::Str(j, "subject_token_type")),
        token_url_(js::Str(j, "token_url").empty() ? "https://sts.googleapis.com/v1/token" : js::Str(j, "token_url")),
        impersonation_url_(js::Str(j, "service_account_impersonation_url")),
        origin_(std::move(origin)),
        o_(o) {
    if (const json* src = js::Obj(j, "credential_source")) {
      file_ = js::Str(*src, "file");
      url_ = js::Str(*src, "url");
      has_other_source_ = src->contains("executable") || src->contains("environment_id");
      if (const json* headers = js::Obj(*src, "headers")) {
        for (auto it = headers->begin(); it != headers->end(); ++it) {
          if (it.value().is_string()) headers_.push_back({it.key(), it.value().get<std::string>()});
        }
      }
      if (const json* format = js::Obj(*src, "format")) {
        format_type_ = js::Str(*format, "type");
        field_ = js::Str(*format, "subject_token_field_name");
      }
    }
    if (const json* imp = js::Obj(j, "service_account_impersonation")) {
      lifetime_s_ = js::Int64(*imp, "token_lifetime_seconds").value_or(3600);
    }
  }
  Status Validate() const {
    if (audience_.empty() || subject_token_type_.empty()) {
      return InvalidArgumentError(origin_ + ": an external_account credential needs audience and subject_token_type")
          .WithFix("recreate it: gcloud iam workload-identity-pools create-cred-config ...");
    }
    if (file_.empty() && url_.empty()) {
      return UnimplementedError(origin_ + ": this external_account credential_source is not supported (" +
                                std::string(has_other_source_ ? "executable or AWS" : "none given") +
                                "); cloudcoop reads subject tokens from a file or a URL")
          .WithFix("use a file- or URL-sourced credential configuration (--credential-source-file or "
                   "--credential-source-url)");
    }
    if (format_type_ == "json" && field_.empty()) {
      return InvalidArgumentError(origin_ + ": credential_source.format type json needs subject_token_field_name")
          .WithFix("recreate the file with --credential-source-field-name");
    }
    CC_RETURN_IF_ERROR(CheckCredentialUrl(token_url_, origin_ + ": token_url"));
    if (!url_.empty()) CC_RETURN_IF_ERROR(CheckCredentialUrl(url_, origin_ + ": credential_source.url"));
    if (!impersonation_url_.empty()) {
      CC_RETURN_IF_ERROR(CheckCredentialUrl(impersonation_url_, origin_ + ": service_account_impersonation_url"));
    }
    return OkStatus();
  }
  StatusOr<AccessToken> Fetch() override {
    CC_ASSIGN_OR_RETURN(std::string subject, SubjectToken());
    std::string what = "exchanging the workload identity token of " + origin_ + " at STS";
    CC_ASSIGN_OR_RETURN(json j, TokenCall(o_,
                                          FormPost(token_url_, {{"grant_type", kTokenExchangeGrant},
                                                                {"audience", audience_},
                                                                {"scope", kCloudPlatformScope},
                                                                {"requested_token_type", kAccessTokenType},
                                                                {"subject_token", subject},
                                                                {"subject_token_type", subject_token_type_}}),
                                          what,
                                          "check the workload identity pool provider (audience " + audience_ +
                                              ") and that the subject token is current"));
    if (js::Str(j, "issued_token_type") != kAccessTokenType) {
      return InternalError(what + ": STS issued \"" + js::Str(j, "issued_token_type") + "\", not an access token");
    }
    CC_ASSIGN_OR_RETURN(AccessToken sts, OAuthToken(j, o_, what));
    if (impersonation_url_.empty()) return sts;
    return GenerateAccessToken(o_, impersonation_url_, sts.value, {}, {}, lifetime_s_,
                               "impersonating through " + impersonation_url_ + " (" + origin_ + ")");
  }
  std::string Describe() const override {
    return "workload identity federation (external_account, " + std::string(file_.empty() ? "URL" : "file") +
           "-sourced) in " + origin_;
  }

 private:
  StatusOr<std::string> SubjectToken() {
    std::string raw;
    std::string where;
    if (!file_.empty()) {
      where = "the subject-token file " + file_;
      auto content = ReadFile(file_);
      if (!content.ok()) {
        return Status(content.status().code(), "reading " + where + " (" + origin_ + "): " + content.status().message())
            .WithFix("make sure the identity provider writes the token there (e.g. a mounted OIDC token)");
      }
      raw = *content;
    } else {
      where = "the subject-token URL " + url_;
      HttpRequest req;
      req.url = url_;
      for (const auto& [k, v] : headers_) req.headers.push_back({k, v});
      auto resp = o_.transport->Send(req);
      if (!resp.ok()) return resp.status().Annotate("reading " + where);
      if (resp->status != 200) {
        return PermissionDeniedError("reading " + where + ": HTTP " + std::to_string(resp->status))
            .WithFix("check the identity provider's token endpoint");
      }
      raw = resp->body;
    }
    if (format_type_ == "json") {
      json j = json::parse(raw, nullptr, false);
      std::string token = j.is_discarded() ? "" : js::Str(j, field_);
      if (token.empty()) {
        return InvalidArgumentError(where + " has no string field \"" + field_ + "\"")
            .WithFix("check credential_source.format.subject_token_field_name in " + origin_);
      }
      return token;
    }
    std::string token(Trim(raw));
    if (token.empty()) return InvalidArgumentError(where + " is empty").WithFix("check the identity provider");
    return token;
  }

  std::string audience_, subject_token_type_, token_url_, impersonation_url_, origin_;
  std::string file_, url_, format_type_, field_;
  std::vector<std::pair<std::string, std::string>> headers_;
  bool has_other_source_ = false;
  int64_t lifetime_s_ = 3600;
  CredentialOptions o_;
};

StatusOr<std::unique_ptr<TokenSource>> FromJson(const json& j, const std::string& origin, const CredentialOptions& o,
                                                int depth) {
  if (!j.is_object()) return InvalidArgumentError(origin + " is not a JSON object").WithFix(kKeyFileAdvice);
  std::string type = js::Str(j, "type");
  if (type == "authorized_user") {
    auto s = std::make_unique<AuthorizedUserSource>(j, origin, o);
    CC_RETURN_IF_ERROR(s->Validate());
    return std::unique_ptr<TokenSource>(std::move(s));
  }
  if (type == "external_account") {
    auto s = std::make_unique<ExternalAccountSource>(j, origin, o);
    CC_RETURN_IF_ERROR(s->Validate());
    return std::unique_ptr<TokenSource>(std::move(s));
  }
  if (type == "impersonated_service_account") {
    std::string url = js::Str(j, "service_account_impersonation_url");
    const json* source = js::Obj(j, "source_credentials");
    if (url.empty() || source == nullptr) {
      return InvalidArgumentError(origin + ": an impersonated_service_account credential needs "
                                           "service_account_impersonation_url and source_credentials")
          .WithFix("recreate it: gcloud auth application-default login --impersonate-service-account=SA_EMAIL");
    }
    if (depth >= 3) return InvalidArgumentError(origin + ": source_credentials nest too deeply");
    CC_RETURN_IF_ERROR(CheckCredentialUrl(url, origin + ": service_account_impersonation_url"));
    CC_ASSIGN_OR_RETURN(auto inner, FromJson(*source, origin + " (source_credentials)", o, depth + 1));
    return std::unique_ptr<TokenSource>(std::make_unique<ImpersonatedSource>(
        std::move(inner), url, js::StrList(j, "delegates"), js::StrList(j, "scopes"), origin, o));
  }
  if (type == "service_account") {
    if (!o.allow_key_files) {
      return FailedPreconditionError(origin + " is a service-account key file: a long-lived private key that works "
                                              "from anywhere until someone deletes it, so cloudcoop refuses it")
          .WithFix(kKeyFileAdvice);
    }
    auto s = std::make_unique<ServiceAccountKeySource>(j, origin, o);
    CC_RETURN_IF_ERROR(s->Validate());
    CC_LOG_WARN("using the service-account key file %s because cloud.gcp.allow_key_files = true", origin.c_str());
    return std::unique_ptr<TokenSource>(std::move(s));
  }
  return InvalidArgumentError(origin + ": unsupported credential type \"" + type + "\"")
      .WithFix("use authorized_user, impersonated_service_account or external_account credentials "
               "(gcloud auth application-default login)");
}

std::string EnvOr(const EnvLookup& env, const std::string& name) {
  auto v = env(name);
  return v ? std::string(Trim(*v)) : std::string();
}

}  // namespace

CachingTokenSource::CachingTokenSource(std::unique_ptr<TokenSource> source, Clock* clock)
    : source_(std::move(source)), clock_(clock != nullptr ? clock : &DefaultClock()) {}

StatusOr<std::string> CachingTokenSource::Token() {
  std::lock_guard<std::mutex> lock(mu_);
  SystemTime now = clock_->Now();
  if (have_ && now < refresh_at_) return token_.value;
  CC_ASSIGN_OR_RETURN(AccessToken fresh, source_->Fetch());
  ++fetches_;
  token_ = std::move(fresh);
  have_ = true;
  if (token_.expiry == SystemTime::max()) {
    refresh_at_ = SystemTime::max();
  } else {
    auto lifetime = token_.expiry - now;
    auto slack = std::min<SystemTime::duration>(std::chrono::duration_cast<SystemTime::duration>(kTokenRefreshSlack),
                                                lifetime / 2);
    refresh_at_ = token_.expiry - slack;
  }
  return token_.value;
}

void CachingTokenSource::Invalidate() {
  std::lock_guard<std::mutex> lock(mu_);
  have_ = false;
}

int CachingTokenSource::fetches() const {
  std::lock_guard<std::mutex> lock(mu_);
  return fetches_;
}

StatusOr<std::unique_ptr<TokenSource>> CredentialsFromJson(const std::string& json_text, const std::string& origin,
                                                           const CredentialOptions& options) {
  json j = json::parse(json_text, nullptr, false);
  if (j.is_discarded()) {
    return InvalidArgumentError(origin + " is not JSON")
        .WithFix("point it at a credential file written by gcloud (gcloud auth application-default login)");
  }
  return FromJson(j, origin, options, 0);
}

StatusOr<std::unique_ptr<TokenSource>> ResolveCredentials(const CredentialOptions& options) {
  EnvLookup env = options.env ? options.env : ProcessEnv();
  // 1. An access-token file.
  if (!options.access_token_file_flag.empty()) {
    return std::unique_ptr<TokenSource>(
        std::make_unique<TokenFileSource>(options.access_token_file_flag, "--access-token-file"));
  }
  if (!options.access_token_file_config.empty()) {
    return std::unique_ptr<TokenSource>(
        std::make_unique<TokenFileSource>(options.access_token_file_config, "cloud.gcp.access_token_file"));
  }
  if (std::string f = EnvOr(env, "CLOUDSDK_AUTH_ACCESS_TOKEN_FILE"); !f.empty()) {
    return std::unique_ptr<TokenSource>(std::make_unique<TokenFileSource>(f, "CLOUDSDK_AUTH_ACCESS_TOKEN_FILE"));
  }
  // 2. The metadata server, on a GCE VM.
  std::string md_host = EnvOr(env, "GCE_METADATA_HOST");
  if (md_host.empty()) md_host = EnvOr(env, "GCE_METADATA_ROOT");
  if (md_host.empty()) {
    auto product = ReadFile(options.gce_product_name_file);
    if (product.ok() && StartsWith(Trim(*product), "Google")) md_host = "169.254.169.254";
  }
  if (!md_host.empty()) {
    std::string base = StartsWith(md_host, "http://") ? md_host : "http://" + md_host;
    CC_RETURN_IF_ERROR(CheckCredentialUrl(base, "the metadata server"));
    return std::unique_ptr<TokenSource>(std::make_unique<MetadataSource>(base, options));
  }
  // 3. Application Default Credentials.
  if (std::string path = EnvOr(env, "GOOGLE_APPLICATION_CREDENTIALS"); !path.empty()) {
    auto content = ReadFile(path);
    if (!content.ok()) {
      return Status(content.status().code(),
                    "GOOGLE_APPLICATION_CREDENTIALS=" + path + " cannot be read: " + content.status().message())
          .WithFix("point it at a readable credential file, or unset it to use gcloud's ADC");
    }
    return CredentialsFromJson(*content, "GOOGLE_APPLICATION_CREDENTIALS=" + path, options);
  }
  std::string dir = EnvOr(env, "CLOUDSDK_CONFIG");
  if (dir.empty()) {
    std::string home = EnvOr(env, "HOME");
    if (!home.empty()) dir = home + "/.config/gcloud";
  }
  std::string adc = dir.empty() ? "" : dir + "/application_default_credentials.json";
  if (!adc.empty() && PathExists(adc)) {
    CC_ASSIGN_OR_RETURN(std::string content, ReadFile(adc));
    return CredentialsFromJson(content, adc, options);
  }
  return FailedPreconditionError("no Google Cloud credentials found (no access-token file, not on a GCE VM, no "
                                 "GOOGLE_APPLICATION_CREDENTIALS, no " +
                                 (adc.empty() ? std::string("gcloud ADC file") : adc) + ")")
      .WithFix("run `gcloud auth application-default login`, or pass --access-token-file FILE");
}

}  // namespace cloudcoop::gcp
