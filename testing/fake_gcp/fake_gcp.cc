#include "testing/fake_gcp/fake_gcp.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <regex>
#include <set>

#include "cloud/gcp/crypto.h"
#include "core/clock.h"
#include "core/strings.h"
#include "testing/fake_gcp/body_schema.h"

namespace cloudcoop::fakegcp {
namespace {

using nlohmann::json;

std::string StatusName(int code) {
  switch (code) {
    case 400: return "INVALID_ARGUMENT";
    case 401: return "UNAUTHENTICATED";
    case 403: return "PERMISSION_DENIED";
    case 404: return "NOT_FOUND";
    case 409: return "ALREADY_EXISTS";
    case 412: return "FAILED_PRECONDITION";
    case 429: return "RESOURCE_EXHAUSTED";
    case 503: return "UNAVAILABLE";
    default: return code >= 500 ? "INTERNAL" : "UNKNOWN";
  }
}

Response Json(const json& j, int status = 200) {
  Response r;
  r.status = status;
  r.body = j.dump();
  r.headers = {{"Content-Type", "application/json; charset=UTF-8"}};
  return r;
}

Response Error(int code, const std::string& reason, const std::string& message) {
  Response r;
  r.status = code;
  r.body = ErrorBody(code, reason, message);
  r.headers = {{"Content-Type", "application/json; charset=UTF-8"}};
  return r;
}

Response OAuthError(int code, const std::string& error, const std::string& description) {
  return Json({{"error", error}, {"error_description", description}}, code);
}

std::string Now() { return FormatRfc3339(DefaultClock().Now()); }

std::string PercentDecode(std::string_view s, bool plus_is_space) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else if (s[i] == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += s[i];
    }
  }
  return out;
}

std::map<std::string, std::string> ParseForm(std::string_view text) {
  std::map<std::string, std::string> out;
  for (const auto& part : Split(text, '&', true)) {
    size_t eq = part.find('=');
    std::string k = PercentDecode(part.substr(0, eq), true);
    out[k] = eq == std::string::npos ? "" : PercentDecode(std::string_view(part).substr(eq + 1), true);
  }
  return out;
}

std::string Base64UrlDecode(std::string_view in) {
  std::string s(in);
  for (char& c : s) {
    if (c == '-') c = '+';
    if (c == '_') c = '/';
  }
  while (s.size() % 4 != 0) s += '=';
  std::string out((s.size() / 4) * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()), reinterpret_cast<const unsigned char*>(s.data()),
                          static_cast<int>(s.size()));
  if (n < 0) return "";
  size_t pad = 0;
  while (pad < 2 && !s.empty() && s[s.size() - 1 - pad] == '=') ++pad;
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

bool VerifyRs256(const std::string& pem, const std::string& data, const std::string& sig) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* key = PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (key == nullptr) return false;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
            EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                             reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(key);
  return ok;
}

bool IsTrue(const std::string& v) {
  std::string l = ToLower(v);
  return l == "true" || l == "1" || l == "yes";
}

std::string Last(const std::string& url) { return url.substr(url.rfind('/') + 1); }

// Fingerprints and etags are `bytes` fields: base64 on the wire (gcloud refuses anything else).
std::string Fingerprint(const std::string& seed) {
  std::string raw = seed;
  raw.resize(8, '#');
  return gcp::Base64Encode(raw);
}

const std::set<std::string>& KnownQueryParams() {
  static const std::set<std::string> known = {"alt",      "requestId",   "filter",  "maxResults", "pageToken",
                                              "orderBy",  "includeAllScopes", "returnPartialSuccess",
                                              "queryPath", "variableKey", "keyTypes", "prettyPrint", "fields",
                                              "serviceProjectNumber", "discardLocalSsd", "noGracefulShutdown",
                                              "pageSize"};
  return known;
}

}  // namespace

std::string ErrorBody(int code, const std::string& reason, const std::string& message) {
  json j = {{"error",
             {{"code", code},
              {"message", message},
              {"errors", json::array({{{"message", message}, {"domain", "global"}, {"reason", reason}}})},
              {"status", StatusName(code)}}}};
  return j.dump();
}

std::string Request::Header(std::string_view name) const {
  std::string lower = ToLower(name);
  for (const auto& h : headers) {
    if (ToLower(h.name) == lower) return h.value;
  }
  return "";
}

struct Op {
  json j;
  std::string zone;  // empty: global
  int polls_left = 0;
  std::function<void()> on_done;
  std::function<void()> on_fail;
  std::optional<Fault> failure;
};

struct FakeGcp::State {
  mutable std::mutex mu;
  Options opt;
  std::string base = "http://127.0.0.1";
  std::set<std::string> tokens;
  std::vector<Fault> faults;
  std::map<std::string, std::map<std::string, json>> instances;  // zone -> name -> resource
  std::set<std::string> hidden;                                   // "zone/name"
  std::map<std::string, Op> ops;
  std::map<std::string, std::string> request_ids;  // requestId -> operation name
  std::map<std::string, json> firewalls;
  std::map<std::string, json> networks;
  json project_items = json::array();
  int project_fingerprint = 1;
  json policy = {{"version", 1}, {"etag", "BwYAAAAAAAE="}, {"bindings", json::array()}};
  int etag_counter = 1;
  std::set<std::string> service_accounts;
  std::map<std::string, std::vector<json>> keys;
  std::map<std::string, std::map<std::string, std::string>> guest;  // "zone/name" -> key -> value
  std::map<std::string, std::string> metadata_guest;
  struct OAuthClient {
    std::string secret;
    std::string refresh;
  };
  std::map<std::string, OAuthClient> oauth;
  std::map<std::string, std::string> sa_public_keys;
  std::map<std::string, std::string> subject_tokens;  // subject token -> audience
  std::set<std::string> impersonation;
  std::map<std::string, int> issued;
  std::vector<Request> log;
  long next_id = 1000;
  int next_ip = 2;
  std::optional<Fault> pending_op_failure;  // consumed by the next operation this request starts

  // ---- helpers (called with mu held) ----
  std::string ComputeBase() const { return base + "/compute/v1/projects/" + opt.project; }
  std::string ZoneUrl(const std::string& zone) const { return ComputeBase() + "/zones/" + zone; }
  std::string InstanceUrl(const std::string& zone, const std::string& name) const {
    return ZoneUrl(zone) + "/instances/" + name;
  }
  std::string NewId() { return std::to_string(4000000000000000000LL + ++next_id * 7919); }
  std::string Issue(const std::string& kind) {
    std::string t = "fake-" + kind + "-token-" + std::to_string(++issued[kind]) + "-" + std::to_string(next_id++);
    tokens.insert(t);
    return t;
  }
  std::string PolicyEtag() { return Fingerprint("etag" + std::to_string(++etag_counter)); }

  void Finish(Op& op) {
    op.j["status"] = "DONE";
    op.j["progress"] = 100;
    op.j["endTime"] = Now();
    if (op.failure) {
      op.j["error"] = {{"errors", json::array({{{"code", op.failure->op_error_code},
                                                {"message", op.failure->op_error_message}}})}};
      bool quota = op.failure->op_error_code.find("QUOTA") != std::string::npos;
      op.j["httpErrorStatusCode"] = quota ? 403 : 400;
      op.j["httpErrorMessage"] = quota ? "FORBIDDEN" : "BAD REQUEST";
      if (op.on_fail) op.on_fail();
    } else if (op.on_done) {
      op.on_done();
    }
    op.on_done = nullptr;
    op.on_fail = nullptr;
  }

  json NewOp(const std::string& type, const std::string& zone, const std::string& target_link,
             std::function<void()> on_done, std::function<void()> on_fail, const std::string& request_id) {
    Op op;
    char hex[16];
    std::snprintf(hex, sizeof hex, "%08lx", static_cast<unsigned long>(next_id * 2654435761u) & 0xffffffffUL);
    std::string name = "operation-" + std::to_string(1700000000000 + next_id) + "-" + hex;
    op.zone = zone;
    std::string self = (zone.empty() ? ComputeBase() + "/global" : ZoneUrl(zone)) + "/operations/" + name;
    op.j = {{"kind", "compute#operation"}, {"id", NewId()},          {"name", name},
            {"operationType", type},       {"targetLink", target_link}, {"targetId", NewId()},
            {"status", "RUNNING"},         {"user", "cloudcoop-test@example.com"},
            {"progress", 0},               {"insertTime", Now()},     {"startTime", Now()},
            {"selfLink", self}};
    if (!zone.empty()) op.j["zone"] = ZoneUrl(zone);
    op.polls_left = opt.operation_polls;
    op.on_done = std::move(on_done);
    op.on_fail = std::move(on_fail);
    op.failure = pending_op_failure;
    pending_op_failure.reset();
    if (op.polls_left <= 0) Finish(op);
    json out = op.j;
    ops[name] = std::move(op);
    if (!request_id.empty()) request_ids[request_id] = name;
    return out;
  }

  // A repeat of a request with a known requestId answers with that request's operation.
  std::optional<json> Repeat(const Request& req) {
    auto rid = req.query.find("requestId");
    if (rid == req.query.end()) return std::nullopt;
    auto it = request_ids.find(rid->second);
    if (it == request_ids.end()) return std::nullopt;
    return ops[it->second].j;
  }

  json VisibleInstance(const json& in) const {
    json out = in;
    if (opt.effective_metadata) {
      auto find = [&](const json& items, const std::string& key) -> std::optional<std::string> {
        if (!items.is_array()) return std::nullopt;
        for (const auto& it : items) {
          if (it.value("key", "") == key) return it.value("value", "");
        }
        return std::nullopt;
      };
      json items = in.contains("metadata") ? in["metadata"].value("items", json::array()) : json::array();
      auto eff = [&](const std::string& key, bool project_level) {
        auto v = find(items, key);
        if (!v && project_level) v = find(project_items, key);
        return v && IsTrue(*v);
      };
      out["resourceStatus"]["effectiveInstanceMetadata"] = {
          {"enableOsloginMetadataValue", eff("enable-oslogin", true)},
          {"blockProjectSshKeysMetadataValue", eff("block-project-ssh-keys", false)},
          {"serialPortEnableMetadataValue", eff("serial-port-enable", true)}};
    }
    return out;
  }

  json* FindInstance(const std::string& zone, const std::string& name, bool include_hidden = false) {
    auto z = instances.find(zone);
    if (z == instances.end()) return nullptr;
    auto it = z->second.find(name);
    if (it == z->second.end()) return nullptr;
    if (!include_hidden && hidden.count(zone + "/" + name)) return nullptr;
    return &it->second;
  }

  Response NotFound(const std::string& resource) {
    return Error(404, "notFound", "The resource '" + resource + "' was not found");
  }
};

FakeGcp::FakeGcp(Options options) : s_(std::make_unique<State>()) { s_->opt = std::move(options); }
FakeGcp::~FakeGcp() = default;

void FakeGcp::SetBaseUrl(const std::string& base) {
  std::lock_guard<std::mutex> lock(s_->mu);
  s_->base = base;
}
std::string FakeGcp::base_url() const {
  std::lock_guard<std::mutex> lock(s_->mu);
  return s_->base;
}
Options& FakeGcp::options() { return s_->opt; }

void FakeGcp::AddToken(const std::string& token) {
  std::lock_guard<std::mutex> lock(s_->mu);
  s_->tokens.insert(token);
}
void FakeGcp::AddFault(const Fault& fault) {
  std::lock_guard<std::mutex> lock(s_->mu);
  s_->faults.push_back(fault);
}
void FakeGcp::ClearFaults() {
  std::lock_guard<std::mutex> lock(s_->mu);
  s_->faults.clear();
}

void FakeGcp::PutInstanceJson(const std::string& zone, const std::string& text) {
  std::lock_guard<std::mutex> lock(s_->mu);
  json j = json::parse(text);
  if (!j.contains("zone")) j["zone"] = s_->ZoneUrl(zone);
  if (!j.contains("selfLink")) j["selfLink"] = s_->InstanceUrl(zone, j.value("name", ""));
  s_->instances[zone][j.value("name", "")] = j;
}
std::optional<std::string> FakeGcp::InstanceJson(const std::string& zone, const std::string& name) const {
  std::lock_guard<std::mutex> lock(s_->mu);
  json* in = s_->FindInstance(zone, name, true);
  if (in == nullptr) return std::nullopt;
  return s_->VisibleInstance(*in).dump();
}
void FakeGcp::SetInstanceStatus(const std::string& zone, const std::string& name, const std::string& status) {
  std::lock_guard<std::mutex> lock(s_->mu);
  if (json* in = s_->FindInstance(zone, name, true)) (*in)["status"] = status;
}
int FakeGcp::InstanceCount() const {
  std::lock_guard<std::mutex> lock(s_->mu);
  int n = 0;
  for (const auto& [zone, m] : s_->instances) n += static_cast<int>(m.size());
  return n;
}
void FakeGcp::PutFirewallJson(const std::string& text) {
  std::lock_guard<std::mutex> lock(s_->mu);
  json j = json::parse(text);
  std::string name = j.value("name", "");
  if (!j.contains("selfLink")) j["selfLink"] = s_->ComputeBase() + "/global/firewalls/" + name;
  if (!j.contains("direction")) j["direction"] = "INGRESS";
  if (!j.contains("priority")) j["priority"] = 1000;
  s_->firewalls[name] = j;
}
std::vector<std::string> FakeGcp::FirewallNames() const {
  std::lock_guard<std::mutex> lock(s_->mu);
  std::vector<std::string> out;
  for (const auto& [n, f] : s_->firewalls) out.push_back(n);
  return out;
}
void FakeGcp::PutNetwork(const std::string& name, std::optional<bool> auto_create) {
  std::lock_guard<std::mutex> lock(s_->mu);
  json j = {{"kind", "compute#network"}, {"name", name}, {"id", s_->NewId()},
            {"selfLink", s_->ComputeBase() + "/global/networks/" + name}};
  if (auto_create) j["autoCreateSubnetworks"] = *auto_create;
  s_->networks[name] = j;
}
void FakeGcp::SetProjectMetadata(const std::vector<std::pair<std::string, std::string>>& items) {
  std::lock_guard<std::mutex> lock(s_->mu);
  s_->project_items = json::array();
  for (const auto& [k, v] : items) s_->project_items.push_back({{"key", k}, {"value", v}});
  ++s_->project_fingerprint;
}
void FakeGcp::SetIamPolicyJson(const std::string& text) {
  std::lock_guard<std::mutex> lock(s_->mu);
  s_->policy = json::parse(text);
  if (!s_->policy.contains("etag")) s_->policy["etag"] = s_->PolicyEtag();
}
std::string FakeGcp::IamPolicyJson() const {
  std::lock_guard<std::mutex> lock(s_->mu);
  return s_->policy.dump();
}
void FakeGcp::AddServiceAccount(const std::string& email) {
  std::lock_guard<std::mutex> lock(s_->mu);
  s_->service_accounts.insert(email);
}
void FakeGcp::AddServiceAccountKey(const std::string& email, const std::string& key_id, const std::string& type) {
  std::lock_guard<std::mutex> lock(s_->mu);
  s_->keys[email].push_back({{"name", "projects/" + s_->opt.project + "/serviceAccounts/" + email + "/keys/" + key_id},
                             {"keyType", type},
                             {"keyAlgorithm", "KEY_ALG_RSA_2048"},
                             {"keyOrigin", "GOOGLE_PROVIDED"},
                             {"validAfterTime", "2025-01-01T00:00:00Z"},
                             {"validBeforeTime", "9999-12-31T23:59:59Z"}});
}
void FakeGcp::SetGuestAttribute(const std::string& zone, const std::string& instance, const std::string& key,
                                const std::string& value) {
  std::lock_guard<std::mutex> lock(s_->mu);
  s_->guest[zone + "/" + instance][key] = value;
}
void FakeGcp::FinishOperationsAfter(int polls) {
  std::lock_guard<std::mutex> lock(s_->mu);
  for (auto& [name, op] : s_->ops) {
    if (op.j["status"] != "DONE") op.polls_left = polls;
  }
}
std::map<std::string, std::string> FakeGcp::MetadataGuestAttributes() const {
  std::lock_guard<std::mutex> lock(s_->mu);
  return s_->metadata_guest;
}
void FakeGcp::AddOAuthClient(const std::string& id, const std::string& secret, const std::string& refresh) {
  std::lock_guard<std::mutex> lock(s_->mu);
  s_->oauth[id] = {secret, refresh};
}
void FakeGcp::AddServiceAccountPublicKey(const std::string& email, const std::string& pem) {
  std::lock_guard<std::mutex> lock(s_->mu);
  s_->sa_public_keys[email] = pem;
}
void FakeGcp::AddSubjectToken(const std::string& audience, const std::string& subject) {
  std::lock_guard<std::mutex> lock(s_->mu);
  s_->subject_tokens[subject] = audience;
}
void FakeGcp::AllowImpersonation(const std::string& sa) {
  std::lock_guard<std::mutex> lock(s_->mu);
  s_->impersonation.insert(sa);
}
int FakeGcp::TokensIssued(const std::string& kind) const {
  std::lock_guard<std::mutex> lock(s_->mu);
  auto it = s_->issued.find(kind);
  return it == s_->issued.end() ? 0 : it->second;
}
std::vector<Request> FakeGcp::Requests() const {
  std::lock_guard<std::mutex> lock(s_->mu);
  return s_->log;
}
int FakeGcp::CountRequests(const std::string& method, const std::string& path_contains) const {
  std::lock_guard<std::mutex> lock(s_->mu);
  return static_cast<int>(std::count_if(s_->log.begin(), s_->log.end(), [&](const Request& r) {
    return (method.empty() || r.method == method) && r.path.find(path_contains) != std::string::npos;
  }));
}
std::vector<std::string> FakeGcp::Bodies(const std::string& method, const std::string& path_contains) const {
  std::lock_guard<std::mutex> lock(s_->mu);
  std::vector<std::string> out;
  for (const auto& r : s_->log) {
    if ((method.empty() || r.method == method) && r.path.find(path_contains) != std::string::npos) out.push_back(r.body);
  }
  return out;
}

Response FakeGcp::HandleUrl(const std::string& method, const std::string& url,
                            const std::vector<gcp::HttpHeader>& headers, const std::string& body) {
  Request req;
  req.method = method;
  req.headers = headers;
  req.body = body;
  auto parsed = gcp::ParseUrl(url);
  std::string target = parsed.ok() ? parsed->path : url;
  size_t q = target.find('?');
  req.path = PercentDecode(target.substr(0, q), false);
  if (q != std::string::npos) {
    req.query = ParseForm(std::string_view(target).substr(q + 1));
  }
  return Handle(req);
}

// ---------------------------------------------------------------------------------------------
// Routing

namespace {

struct Ctx {
  FakeGcp::State& s;
  const Request& req;
};

json ParseBody(const Request& req, bool* ok) {
  *ok = true;
  if (Trim(req.body).empty()) return json();
  json j = json::parse(req.body, nullptr, false);
  if (j.is_discarded()) *ok = false;
  return j;
}

}  // namespace

// Each route answers with mu held.
namespace routes {

Response Instances(FakeGcp::State& s, const Request& req, const std::string& zone, const std::vector<std::string>& seg);
Response Operations(FakeGcp::State& s, const Request& req, const std::string& zone, const std::string& name, bool wait);
Response Firewalls(FakeGcp::State& s, const Request& req, const std::vector<std::string>& seg);
Response Iam(FakeGcp::State& s, const Request& req);
Response Tokens(FakeGcp::State& s, const Request& req);
Response Metadata(FakeGcp::State& s, const Request& req);

}  // namespace routes

Response FakeGcp::Handle(const Request& req) {
  State& s = *s_;
  std::lock_guard<std::mutex> lock(s.mu);
  s.log.push_back(req);
  Response extra;
  for (auto& f : s.faults) {
    if (f.times == 0) continue;
    if (!f.method.empty() && f.method != req.method) continue;
    if (!f.path_contains.empty() && req.path.find(f.path_contains) == std::string::npos) continue;
    if (f.times > 0) --f.times;
    switch (f.kind) {
      case FaultKind::kHttpError: {
        Response r = Error(f.http_status, f.reason, f.message);
        if (f.http_status == 429) r.headers.push_back({"Retry-After", "0"});
        return r;
      }
      case FaultKind::kDelay: extra.delay = f.delay; break;
      case FaultKind::kDrop: extra.drop = true; break;
      case FaultKind::kOperationError: s.pending_op_failure = f; break;
    }
    break;  // one fault per request: the first that matches
  }
  Response r;
  const std::string& p = req.path;
  if (StartsWith(p, "/computeMetadata/")) {
    r = routes::Metadata(s, req);
  } else if (p == "/token" || p == "/v1/token" || p.find(":generateAccessToken") != std::string::npos) {
    r = routes::Tokens(s, req);
  } else {
    std::string auth = req.Header("Authorization");
    if (s.opt.require_auth && auth.empty()) {
      r = Error(401, "required",
                "Request is missing required authentication credential. Expected OAuth 2 access token, login cookie "
                "or other valid authentication credential.");
    } else if (s.opt.require_auth && (!StartsWith(auth, "Bearer ") || !s.tokens.count(auth.substr(7)))) {
      r = Error(401, "authError", "Request had invalid authentication credentials. Expected OAuth 2 access token, "
                                  "login cookie or other valid authentication credential.");
    } else {
      bool bad_param = false;
      for (const auto& [k, v] : req.query) {
        if (!KnownQueryParams().count(k)) {
          r = Error(400, "invalid", "Invalid JSON payload received. Unknown name \"" + k + "\": Cannot bind query parameter.");
          bad_param = true;
          break;
        }
      }
      if (!bad_param) {
        if (StartsWith(p, "/compute/v1/projects/")) {
          auto seg = Split(p.substr(21), '/');
          size_t n = seg.size();
          if (n == 0 || seg[0] != s.opt.project) {
            r = s.NotFound("projects/" + (n > 0 ? seg[0] : std::string()));
          } else if (n == 1 && req.method == "GET") {
            r = Json({{"kind", "compute#project"},
                      {"name", s.opt.project},
                      {"id", s.opt.project_number},
                      {"commonInstanceMetadata",
                       {{"kind", "compute#metadata"},
                        {"fingerprint", Fingerprint("prj" + std::to_string(s.project_fingerprint))},
                        {"items", s.project_items}}},
                      {"defaultServiceAccount", s.opt.project_number + "-compute@developer.gserviceaccount.com"},
                      {"selfLink", s.ComputeBase()}});
          } else if (n == 3 && seg[1] == "zones" && req.method == "GET") {
            std::string region = seg[2].substr(0, seg[2].rfind('-'));
            r = Json({{"kind", "compute#zone"},
                      {"name", seg[2]},
                      {"status", "UP"},
                      {"region", s.ComputeBase() + "/regions/" + region},
                      {"selfLink", s.ZoneUrl(seg[2])}});
          } else if (n >= 4 && seg[1] == "zones" && seg[3] == "instances") {
            r = routes::Instances(s, req, seg[2], seg);
          } else if ((n == 5 || (n == 6 && seg[5] == "wait")) && seg[1] == "zones" && seg[3] == "operations") {
            r = routes::Operations(s, req, seg[2], seg[4], n == 6);
          } else if ((n == 4 || (n == 5 && seg[4] == "wait")) && seg[1] == "global" && seg[2] == "operations") {
            r = routes::Operations(s, req, "", seg[3], n == 5);
          } else if (n >= 3 && seg[1] == "global" && seg[2] == "firewalls") {
            r = routes::Firewalls(s, req, seg);
          } else if (n == 3 && seg[1] == "aggregated" && seg[2] == "instances" && req.method == "GET") {
            json items = json::object();
            for (const auto& [zone, m] : s.instances) {
              json list = json::array();
              for (const auto& [name, in] : m) {
                if (!s.hidden.count(zone + "/" + name)) list.push_back(s.VisibleInstance(in));
              }
              if (!list.empty()) items["zones/" + zone] = {{"instances", list}};
            }
            items["zones/europe-north2-c"] = {
                {"warning",
                 {{"code", "NO_RESULTS_ON_PAGE"},
                  {"message", "There are no results for scope 'zones/europe-north2-c' on this page."},
                  {"data", json::array({{{"key", "scope"}, {"value", "zones/europe-north2-c"}}})}}}};
            r = Json({{"kind", "compute#instanceAggregatedList"},
                      {"id", "projects/" + s.opt.project + "/aggregated/instances"},
                      {"items", items},
                      {"selfLink", s.ComputeBase() + "/aggregated/instances"}});
          } else if (n >= 3 && seg[1] == "global" && seg[2] == "networks" && req.method == "GET") {
            if (n == 3) {
              json items = json::array();
              for (const auto& [name, net] : s.networks) items.push_back(net);
              r = Json({{"kind", "compute#networkList"}, {"items", items}, {"selfLink", s.ComputeBase() + "/global/networks"}});
            } else if (s.networks.count(seg[3])) {
              r = Json(s.networks[seg[3]]);
            } else {
              r = s.NotFound("projects/" + s.opt.project + "/global/networks/" + seg[3]);
            }
          } else {
            r = Error(404, "notFound", "The requested URL " + p + " was not found on this server (fake GCP).");
          }
        } else if (StartsWith(p, "/v1/projects/")) {
          r = routes::Iam(s, req);
        } else {
          r = Error(404, "notFound", "The requested URL " + p + " was not found on this server (fake GCP).");
        }
      }
    }
  }
  s.pending_op_failure.reset();
  r.delay = std::max(r.delay, extra.delay);
  r.drop = r.drop || extra.drop;
  return r;
}

namespace routes {

namespace {

Response ValidateOrError(const json& body, BodyKind kind) {
  std::string e = ValidateBody(body, kind);
  if (e.empty()) return Response{0};
  return Error(400, "invalid", e);
}

json BuildInstance(FakeGcp::State& s, const std::string& zone, json body) {
  std::string name = body["name"];
  body["kind"] = "compute#instance";
  body["id"] = s.NewId();
  body["creationTimestamp"] = Now();
  body["selfLink"] = s.InstanceUrl(zone, name);
  body["zone"] = s.ZoneUrl(zone);
  body["status"] = "PROVISIONING";
  body["machineType"] = s.ZoneUrl(zone) + "/machineTypes/" + Last(body["machineType"].get<std::string>());
  body["cpuPlatform"] = "Unknown CPU Platform";
  body["fingerprint"] = Fingerprint("in" + std::to_string(s.next_id));
  body["labelFingerprint"] = Fingerprint("labels1");
  if (!body.contains("canIpForward")) body["canIpForward"] = false;
  if (!body.contains("scheduling")) body["scheduling"] = json::object();
  json& sc = body["scheduling"];
  if (!sc.contains("provisioningModel")) sc["provisioningModel"] = "STANDARD";
  if (!sc.contains("automaticRestart")) sc["automaticRestart"] = sc["provisioningModel"] != "SPOT";
  if (!sc.contains("onHostMaintenance")) sc["onHostMaintenance"] = sc["provisioningModel"] == "SPOT" ? "TERMINATE" : "MIGRATE";
  if (!sc.contains("preemptible")) sc["preemptible"] = false;
  int i = 0;
  for (auto& nic : body["networkInterfaces"]) {
    nic["kind"] = "compute#networkInterface";
    nic["name"] = "nic" + std::to_string(i++);
    std::string net = nic.value("network", "default");
    nic["network"] = s.ComputeBase() + "/global/networks/" + Last(net);
    if (nic.contains("subnetwork")) {
      std::string sub = nic["subnetwork"];
      std::string region = zone.substr(0, zone.rfind('-'));
      nic["subnetwork"] = s.ComputeBase() + "/regions/" + region + "/subnetworks/" + Last(sub);
    }
    nic["networkIP"] = "10.128.0." + std::to_string(s.next_ip++);
    nic["fingerprint"] = Fingerprint("nic");
    if (nic.contains("accessConfigs")) {
      for (auto& ac : nic["accessConfigs"]) {
        ac["kind"] = "compute#accessConfig";
        if (!ac.contains("natIP")) ac["natIP"] = "203.0.113." + std::to_string(s.next_ip);
        if (!ac.contains("networkTier")) ac["networkTier"] = "PREMIUM";
      }
    }
  }
  json disks = json::array();
  int index = 0;
  for (const auto& d : body["disks"]) {
    json out = {{"kind", "compute#attachedDisk"},
                {"type", "PERSISTENT"},
                {"mode", "READ_WRITE"},
                {"boot", d.value("boot", false)},
                {"autoDelete", d.value("autoDelete", false)},
                {"index", index},
                {"deviceName", index == 0 ? name : name + "-" + std::to_string(index)},
                {"source", s.ZoneUrl(zone) + "/disks/" + (index == 0 ? name : name + "-" + std::to_string(index))},
                {"interface", "SCSI"}};
    if (d.contains("initializeParams")) {
      const json& ip = d["initializeParams"];
      if (ip.contains("diskSizeGb")) out["diskSizeGb"] = ip["diskSizeGb"].is_string() ? ip["diskSizeGb"] : json(std::to_string(ip["diskSizeGb"].get<int64_t>()));
    }
    disks.push_back(out);
    ++index;
  }
  body["disks"] = disks;
  if (body.contains("serviceAccounts")) {
    for (auto& sa : body["serviceAccounts"]) {
      if (sa.value("email", "") == "default") sa["email"] = s.opt.project_number + "-compute@developer.gserviceaccount.com";
    }
  }
  if (!body.contains("metadata")) body["metadata"] = json::object();
  body["metadata"]["kind"] = "compute#metadata";
  body["metadata"]["fingerprint"] = Fingerprint("md1");
  if (body.contains("tags")) body["tags"]["fingerprint"] = Fingerprint("tags1");
  return body;
}

Response Insert(FakeGcp::State& s, const Request& req, const std::string& zone) {
  if (auto repeat = s.Repeat(req)) return Json(*repeat);
  bool ok = true;
  json body = ParseBody(req, &ok);
  if (!ok || !body.is_object()) return Error(400, "parseError", "Invalid JSON payload received. Unexpected token.");
  if (Response v = ValidateOrError(body, BodyKind::kInstance); v.status != 0) return v;
  static const std::regex name_re("^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$");
  std::string name = body.value("name", "");
  if (!std::regex_match(name, name_re)) {
    return Error(400, "invalid", "Invalid value for field 'resource.name': '" + name +
                                     "'. Must be a match of regex '(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)'");
  }
  std::string mt = body.value("machineType", "");
  static const std::regex mt_re("^(.*/)?zones/([a-z0-9-]+)/machineTypes/([a-z0-9-]+)$");
  std::smatch m;
  if (mt.empty()) return Error(400, "required", "Required field 'resource.machineType' not specified");
  if (!std::regex_match(mt, m, mt_re)) {
    return Error(400, "invalid", "Invalid value for field 'resource.machineType': '" + mt + "'. Machine type with name '" + mt + "' does not exist in zone '" + zone + "'.");
  }
  if (m[2] != zone) {
    return Error(400, "invalid", "Invalid value for field 'resource.machineType': '" + mt + "'. Cross-zone references are not allowed.");
  }
  if (!body.contains("disks") || body["disks"].empty()) return Error(400, "required", "Required field 'resource.disks' not specified");
  int boots = 0;
  for (const auto& d : body["disks"]) boots += d.value("boot", false) ? 1 : 0;
  if (boots != 1) return Error(400, "invalid", "Invalid value for field 'resource.disks': exactly one boot disk is required.");
  if (!body.contains("networkInterfaces") || body["networkInterfaces"].empty()) {
    return Error(400, "required", "Required field 'resource.networkInterfaces' not specified");
  }
  for (const auto& nic : body["networkInterfaces"]) {
    std::string net = Last(nic.value("network", "default"));
    if (!s.networks.count(net)) return s.NotFound("projects/" + s.opt.project + "/global/networks/" + net);
  }
  if (body.contains("serviceAccounts")) {
    for (const auto& sa : body["serviceAccounts"]) {
      std::string email = sa.value("email", "");
      if (email != "default" && !s.service_accounts.count(email)) {
        return Error(400, "invalid", "The resource 'projects/" + s.opt.project + "/serviceAccounts/" + email +
                                         "' was not found");
      }
    }
  }
  if (s.FindInstance(zone, name, true) != nullptr) {
    return Error(409, "alreadyExists", "The resource 'projects/" + s.opt.project + "/zones/" + zone + "/instances/" +
                                           name + "' already exists");
  }
  s.instances[zone][name] = BuildInstance(s, zone, body);
  std::string key = zone + "/" + name;
  if (s.opt.hide_instance_until_done) s.hidden.insert(key);
  FakeGcp::State* st = &s;
  json op = s.NewOp(
      "insert", zone, s.InstanceUrl(zone, name),
      [st, zone, name, key] {
        st->hidden.erase(key);
        if (json* in = st->FindInstance(zone, name, true)) {
          (*in)["status"] = "RUNNING";
          (*in)["lastStartTimestamp"] = Now();
        }
      },
      [st, zone, name, key] {
        st->hidden.erase(key);
        st->instances[zone].erase(name);
      },
      req.query.count("requestId") ? req.query.at("requestId") : "");
  return Json(op);
}

Response Transition(FakeGcp::State& s, const Request& req, const std::string& zone, const std::string& name,
                    const std::string& type, const std::string& during, const std::string& after, bool remove) {
  if (auto repeat = s.Repeat(req)) return Json(*repeat);
  json* in = s.FindInstance(zone, name);
  if (in == nullptr) return s.NotFound("projects/" + s.opt.project + "/zones/" + zone + "/instances/" + name);
  bool ok = true;
  json body = ParseBody(req, &ok);
  if (!ok) return Error(400, "parseError", "Invalid JSON payload received.");
  if (Response v = ValidateOrError(body, BodyKind::kEmpty); v.status != 0) return v;
  std::string before = (*in)["status"];
  if ((type == "start" && before == "RUNNING") || (type == "stop" && before == "TERMINATED")) {
    // Nothing to do: the operation completes without changing the instance.
  } else {
    (*in)["status"] = during;
  }
  FakeGcp::State* st = &s;
  std::string key = zone + "/" + name;
  json op = s.NewOp(
      type, zone, s.InstanceUrl(zone, name),
      [st, zone, name, key, after, remove, type] {
        if (remove) {
          st->instances[zone].erase(name);
          st->guest.erase(key);
          return;
        }
        if (json* i = st->FindInstance(zone, name, true)) {
          (*i)["status"] = after;
          if (type == "start") (*i)["lastStartTimestamp"] = Now();
          if (after == "TERMINATED") {
            (*i)["lastStopTimestamp"] = Now();
            st->guest.erase(key);
          }
        }
      },
      [st, zone, name, before] {
        if (json* i = st->FindInstance(zone, name, true)) (*i)["status"] = before;
      },
      req.query.count("requestId") ? req.query.at("requestId") : "");
  return Json(op);
}

}  // namespace

Response Instances(FakeGcp::State& s, const Request& req, const std::string& zone, const std::vector<std::string>& seg) {
  size_t n = seg.size();
  std::string base = "projects/" + s.opt.project + "/zones/" + zone + "/instances";
  if (n == 4) {
    if (req.method == "POST") return Insert(s, req, zone);
    if (req.method != "GET") return Error(405, "methodNotAllowed", "Method not allowed");
    json items = json::array();
    auto z = s.instances.find(zone);
    if (z != s.instances.end()) {
      for (const auto& [name, in] : z->second) {
        if (!s.hidden.count(zone + "/" + name)) items.push_back(s.VisibleInstance(in));
      }
    }
    size_t start = req.query.count("pageToken") ? std::stoul(req.query.at("pageToken")) : 0;
    size_t max = req.query.count("maxResults") ? std::stoul(req.query.at("maxResults")) : 500;
    json page = json::array();
    for (size_t i = start; i < items.size() && page.size() < max; ++i) page.push_back(items[i]);
    json out = {{"kind", "compute#instanceList"}, {"id", base}, {"items", page}, {"selfLink", s.ZoneUrl(zone) + "/instances"}};
    if (start + page.size() < items.size()) out["nextPageToken"] = std::to_string(start + page.size());
    return Json(out);
  }
  const std::string& name = seg[4];
  if (n == 5) {
    if (req.method == "GET") {
      json* in = s.FindInstance(zone, name);
      if (in == nullptr) return s.NotFound(base + "/" + name);
      return Json(s.VisibleInstance(*in));
    }
    if (req.method == "DELETE") return Transition(s, req, zone, name, "delete", "STOPPING", "", true);
    return Error(405, "methodNotAllowed", "Method not allowed");
  }
  if (n != 6) return Error(404, "notFound", "The requested URL " + req.path + " was not found on this server (fake GCP).");
  const std::string& action = seg[5];
  if (action == "start" && req.method == "POST") return Transition(s, req, zone, name, "start", "STAGING", "RUNNING", false);
  if (action == "stop" && req.method == "POST") return Transition(s, req, zone, name, "stop", "STOPPING", "TERMINATED", false);
  if (action == "getGuestAttributes" && req.method == "GET") {
    json* in = s.FindInstance(zone, name);
    if (in == nullptr) return s.NotFound(base + "/" + name);
    bool enabled = false;
    if (in->contains("metadata") && (*in)["metadata"].contains("items")) {
      for (const auto& it : (*in)["metadata"]["items"]) {
        if (it.value("key", "") == "enable-guest-attributes" && IsTrue(it.value("value", ""))) enabled = true;
      }
    }
    if (!enabled) return Error(400, "badRequest", "Guest attributes are not enabled for this instance.");
    std::string path = req.query.count("queryPath") ? req.query.at("queryPath") : "";
    std::string ns = path.substr(0, path.find('/'));
    json items = json::array();
    for (const auto& [k, v] : s.guest[zone + "/" + name]) items.push_back({{"namespace", ns}, {"key", k}, {"value", v}});
    if (items.empty()) return s.NotFound(base + "/" + name + "/guestAttributes/" + path);
    return Json({{"kind", "compute#guestAttributes"},
                 {"queryPath", path},
                 {"queryValue", {{"items", items}}},
                 {"selfLink", s.InstanceUrl(zone, name) + "/guestAttributes/" + path}});
  }
  if ((action == "setMachineType" || action == "setMetadata") && req.method == "POST") {
    if (auto repeat = s.Repeat(req)) return Json(*repeat);
    json* in = s.FindInstance(zone, name);
    if (in == nullptr) return s.NotFound(base + "/" + name);
    bool ok = true;
    json body = ParseBody(req, &ok);
    if (!ok || !body.is_object()) return Error(400, "parseError", "Invalid JSON payload received.");
    FakeGcp::State* st = &s;
    std::string rid = req.query.count("requestId") ? req.query.at("requestId") : "";
    if (action == "setMachineType") {
      if (Response v = ValidateOrError(body, BodyKind::kSetMachineType); v.status != 0) return v;
      if ((*in)["status"] != "TERMINATED") {
        return Error(400, "resourceNotReady", "The resource '" + base + "/" + name + "' is not ready: the instance must be stopped to change its machine type");
      }
      std::string type = Last(body.value("machineType", ""));
      return Json(s.NewOp("setMachineType", zone, s.InstanceUrl(zone, name), [st, zone, name, type] {
        if (json* i = st->FindInstance(zone, name, true)) (*i)["machineType"] = st->ZoneUrl(zone) + "/machineTypes/" + type;
      }, nullptr, rid));
    }
    if (Response v = ValidateOrError(body, BodyKind::kMetadata); v.status != 0) return v;
    std::string current = (*in)["metadata"].value("fingerprint", "");
    if (body.value("fingerprint", "") != current) {
      return Error(412, "conditionNotMet", "Supplied fingerprint does not match current metadata fingerprint.");
    }
    json items = body.value("items", json::array());
    (*in)["metadata"]["fingerprint"] = Fingerprint("md" + s.NewId().substr(12));  // the old fingerprint is stale at once
    return Json(s.NewOp("setMetadata", zone, s.InstanceUrl(zone, name), [st, zone, name, items] {
      if (json* i = st->FindInstance(zone, name, true)) (*i)["metadata"]["items"] = items;
    }, nullptr, rid));
  }
  return Error(404, "notFound", "The requested URL " + req.path + " was not found on this server (fake GCP).");
}

Response Operations(FakeGcp::State& s, const Request& req, const std::string& zone, const std::string& name, bool wait) {
  if ((wait && req.method != "POST") || (!wait && req.method != "GET")) return Error(405, "methodNotAllowed", "Method not allowed");
  auto it = s.ops.find(name);
  std::string where = zone.empty() ? "global" : "zones/" + zone;
  if (it == s.ops.end() || it->second.zone != zone) {
    return s.NotFound("projects/" + s.opt.project + "/" + where + "/operations/" + name);
  }
  Op& op = it->second;
  if (op.j["status"] != "DONE") {
    if (--op.polls_left <= 0) s.Finish(op);
  }
  return Json(op.j);
}

Response Firewalls(FakeGcp::State& s, const Request& req, const std::vector<std::string>& seg) {
  size_t n = seg.size();
  std::string base = "projects/" + s.opt.project + "/global/firewalls";
  FakeGcp::State* st = &s;
  std::string rid = req.query.count("requestId") ? req.query.at("requestId") : "";
  if (n == 3 && req.method == "GET") {
    json items = json::array();
    for (const auto& [name, f] : s.firewalls) items.push_back(f);
    return Json({{"kind", "compute#firewallList"}, {"id", base}, {"items", items}, {"selfLink", s.ComputeBase() + "/global/firewalls"}});
  }
  if (n == 3 && req.method == "POST") {
    if (auto repeat = s.Repeat(req)) return Json(*repeat);
    bool ok = true;
    json body = ParseBody(req, &ok);
    if (!ok || !body.is_object()) return Error(400, "parseError", "Invalid JSON payload received.");
    if (Response v = ValidateOrError(body, BodyKind::kFirewall); v.status != 0) return v;
    std::string name = body.value("name", "");
    if (name.empty()) return Error(400, "required", "Required field 'resource.name' not specified");
    if (s.firewalls.count(name)) return Error(409, "alreadyExists", "The resource '" + base + "/" + name + "' already exists");
    std::string net = Last(body.value("network", "default"));
    if (!s.networks.count(net)) return s.NotFound("projects/" + s.opt.project + "/global/networks/" + net);
    body["network"] = s.ComputeBase() + "/global/networks/" + net;
    body["kind"] = "compute#firewall";
    body["id"] = s.NewId();
    body["creationTimestamp"] = Now();
    body["selfLink"] = s.ComputeBase() + "/global/firewalls/" + name;
    if (!body.contains("direction")) body["direction"] = "INGRESS";
    if (!body.contains("priority")) body["priority"] = 1000;
    if (!body.contains("disabled")) body["disabled"] = false;
    return Json(s.NewOp("insert", "", s.ComputeBase() + "/global/firewalls/" + name,
                        [st, name, body] { st->firewalls[name] = body; }, nullptr, rid));
  }
  if (n != 4) return Error(404, "notFound", "The requested URL " + req.path + " was not found on this server (fake GCP).");
  const std::string& name = seg[3];
  auto it = s.firewalls.find(name);
  if (req.method == "GET") {
    if (it == s.firewalls.end()) return s.NotFound(base + "/" + name);
    return Json(it->second);
  }
  if (req.method == "PATCH") {
    if (auto repeat = s.Repeat(req)) return Json(*repeat);
    if (it == s.firewalls.end()) return s.NotFound(base + "/" + name);
    bool ok = true;
    json body = ParseBody(req, &ok);
    if (!ok || !body.is_object()) return Error(400, "parseError", "Invalid JSON payload received.");
    if (Response v = ValidateOrError(body, BodyKind::kFirewall); v.status != 0) return v;
    if (body.contains("name") && body["name"] != name) return Error(400, "invalid", "Invalid value for field 'resource.name'");
    if (body.contains("network")) {
      if (Last(body["network"].get<std::string>()) != Last(it->second.value("network", ""))) {
        return Error(400, "invalid", "The network of a firewall rule cannot be changed.");
      }
      body.erase("network");
    }
    return Json(s.NewOp("patch", "", s.ComputeBase() + "/global/firewalls/" + name, [st, name, body] {
      json& f = st->firewalls[name];
      for (auto b = body.begin(); b != body.end(); ++b) f[b.key()] = b.value();
    }, nullptr, rid));
  }
  if (req.method == "DELETE") {
    if (auto repeat = s.Repeat(req)) return Json(*repeat);
    if (it == s.firewalls.end()) return s.NotFound(base + "/" + name);
    return Json(s.NewOp("delete", "", s.ComputeBase() + "/global/firewalls/" + name,
                        [st, name] { st->firewalls.erase(name); }, nullptr, rid));
  }
  return Error(405, "methodNotAllowed", "Method not allowed");
}

Response Iam(FakeGcp::State& s, const Request& req) {
  const std::string& p = req.path;  // /v1/projects/...
  std::string rest = p.substr(13);
  std::string project_prefix = s.opt.project;
  bool ok = true;
  if (rest == project_prefix + ":getIamPolicy" && req.method == "POST") {
    json body = ParseBody(req, &ok);
    if (!ok) return Error(400, "parseError", "Invalid JSON payload received.");
    if (!body.is_null()) {
      if (Response v = ValidateOrError(body, BodyKind::kGetIamPolicy); v.status != 0) return v;
    }
    json out = s.policy;
    int requested = body.is_object() && body.contains("options") ? body["options"].value("requestedPolicyVersion", 1) : 1;
    if (requested < 3) {
      // Conditional bindings are hidden below version 3.
      json kept = json::array();
      for (const auto& b : out.value("bindings", json::array())) {
        if (!b.contains("condition")) kept.push_back(b);
      }
      out["bindings"] = kept;
      out["version"] = 1;
    }
    return Json(out);
  }
  if (rest == project_prefix + ":setIamPolicy" && req.method == "POST") {
    json body = ParseBody(req, &ok);
    if (!ok || !body.is_object()) return Error(400, "parseError", "Invalid JSON payload received.");
    if (Response v = ValidateOrError(body, BodyKind::kSetIamPolicy); v.status != 0) return v;
    json policy = body.value("policy", json::object());
    if (policy.value("etag", "") != s.policy.value("etag", "")) {
      Response r = Error(409, "aborted", "There were concurrent policy changes. Please retry the whole read-modify-write with exponential backoff.");
      json j = json::parse(r.body);
      j["error"]["status"] = "ABORTED";
      r.body = j.dump();
      return r;
    }
    std::string mask = body.value("updateMask", "bindings,etag");
    json next = s.policy;
    next["bindings"] = policy.value("bindings", json::array());
    next["version"] = policy.value("version", 1);
    if (mask.find("auditConfigs") != std::string::npos) next["auditConfigs"] = policy.value("auditConfigs", json::array());
    next["etag"] = s.PolicyEtag();
    s.policy = next;
    return Json(next);
  }
  std::string sa_prefix = project_prefix + "/serviceAccounts/";
  if (StartsWith(rest, sa_prefix) && req.method == "GET") {
    auto parts = Split(rest.substr(sa_prefix.size()), '/');
    std::string email = parts.empty() ? "" : parts[0];
    if (!s.service_accounts.count(email)) {
      return Error(404, "notFound", "Unknown service account");
    }
    if (parts.size() == 1) {
      return Json({{"name", "projects/" + s.opt.project + "/serviceAccounts/" + email},
                   {"projectId", s.opt.project},
                   {"email", email},
                   {"uniqueId", "1" + s.opt.project_number},
                   {"disabled", false}});
    }
    if (parts.size() == 2 && parts[1] == "keys") {
      std::string types = req.query.count("keyTypes") ? req.query.at("keyTypes") : "";
      json keys = json::array();
      for (const auto& k : s.keys[email]) {
        if (types.empty() || k.value("keyType", "") == types) keys.push_back(k);
      }
      json out = json::object();
      if (!keys.empty()) out["keys"] = keys;
      return Json(out);
    }
  }
  return Error(404, "notFound", "The requested URL " + p + " was not found on this server (fake GCP).");
}

Response Tokens(FakeGcp::State& s, const Request& req) {
  const std::string& p = req.path;
  int lifetime = s.opt.token_lifetime_seconds;
  if (p == "/token" && req.method == "POST") {
    auto form = ParseForm(req.body);
    std::string grant = form["grant_type"];
    if (grant == "refresh_token") {
      auto it = s.oauth.find(form["client_id"]);
      if (it == s.oauth.end() || it->second.secret != form["client_secret"]) {
        return OAuthError(401, "invalid_client", "The OAuth client was not found.");
      }
      if (it->second.refresh != form["refresh_token"]) return OAuthError(400, "invalid_grant", "Token has been expired or revoked.");
      return Json({{"access_token", s.Issue("oauth-refresh")}, {"expires_in", lifetime}, {"token_type", "Bearer"},
                   {"scope", "https://www.googleapis.com/auth/cloud-platform"}});
    }
    if (grant == "urn:ietf:params:oauth:grant-type:jwt-bearer") {
      auto parts = Split(form["assertion"], '.');
      if (parts.size() != 3) return OAuthError(400, "invalid_grant", "Invalid JWT: malformed");
      json header = json::parse(Base64UrlDecode(parts[0]), nullptr, false);
      json claims = json::parse(Base64UrlDecode(parts[1]), nullptr, false);
      if (header.is_discarded() || claims.is_discarded() || header.value("alg", "") != "RS256") {
        return OAuthError(400, "invalid_grant", "Invalid JWT: header or claims");
      }
      auto key = s.sa_public_keys.find(claims.value("iss", ""));
      if (key == s.sa_public_keys.end()) return OAuthError(400, "invalid_grant", "Invalid JWT Signature.");
      if (!VerifyRs256(key->second, parts[0] + "." + parts[1], Base64UrlDecode(parts[2]))) {
        return OAuthError(400, "invalid_grant", "Invalid JWT Signature.");
      }
      if (claims.value("aud", "") != s.base + "/token") return OAuthError(400, "invalid_grant", "Invalid JWT: audience");
      if (claims.value("scope", "").find("cloud-platform") == std::string::npos) {
        return OAuthError(400, "invalid_scope", "Invalid OAuth scope.");
      }
      if (claims.value("exp", 0L) - claims.value("iat", 0L) > 3600) {
        return OAuthError(400, "invalid_grant", "Invalid JWT: Token must be a short-lived token (60 minutes)");
      }
      return Json({{"access_token", s.Issue("oauth-jwt")}, {"expires_in", lifetime}, {"token_type", "Bearer"}});
    }
    return OAuthError(400, "unsupported_grant_type", "Invalid grant_type: " + grant);
  }
  if (p == "/v1/token" && req.method == "POST") {
    auto form = ParseForm(req.body);
    if (form["grant_type"] != "urn:ietf:params:oauth:grant-type:token-exchange" ||
        form["requested_token_type"] != "urn:ietf:params:oauth:token-type:access_token") {
      return OAuthError(400, "invalid_request", "Invalid grant_type or requested_token_type");
    }
    auto it = s.subject_tokens.find(form["subject_token"]);
    if (it == s.subject_tokens.end() || it->second != form["audience"]) {
      return OAuthError(400, "invalid_grant", "The audience or subject token is invalid.");
    }
    if (form["subject_token_type"].empty() || form["scope"].find("cloud-platform") == std::string::npos) {
      return OAuthError(400, "invalid_request", "subject_token_type and scope are required");
    }
    return Json({{"access_token", s.Issue("sts")},
                 {"issued_token_type", "urn:ietf:params:oauth:token-type:access_token"},
                 {"token_type", "Bearer"},
                 {"expires_in", lifetime}});
  }
  // /v1/projects/-/serviceAccounts/{sa}:generateAccessToken
  std::string auth = req.Header("Authorization");
  if (!StartsWith(auth, "Bearer ") || !s.tokens.count(auth.substr(7))) {
    return Error(401, "authError", "Request had invalid authentication credentials.");
  }
  size_t at = p.find("/serviceAccounts/");
  size_t colon = p.rfind(':');
  std::string sa = at == std::string::npos ? "" : p.substr(at + 17, colon - at - 17);
  bool ok = true;
  json body = ParseBody(req, &ok);
  if (!ok || !body.is_object()) return Error(400, "parseError", "Invalid JSON payload received.");
  if (Response v = ValidateOrError(body, BodyKind::kGenerateAccessToken); v.status != 0) return v;
  if (!s.impersonation.count(sa)) {
    return Error(403, "forbidden", "Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).");
  }
  auto expire = DefaultClock().Now() + std::chrono::seconds(lifetime);
  return Json({{"accessToken", s.Issue("impersonation")}, {"expireTime", FormatRfc3339(expire)}});
}

Response Metadata(FakeGcp::State& s, const Request& req) {
  if (req.Header("Metadata-Flavor") != "Google") {
    Response r;
    r.status = 403;
    r.body = "Missing Metadata-Flavor:Google header.";
    return r;
  }
  Response r;
  const std::string& p = req.path;
  const std::string guest = "/computeMetadata/v1/instance/guest-attributes/";
  if (p == "/computeMetadata/v1/instance/service-accounts/default/token" && req.method == "GET") {
    r = Json({{"access_token", s.Issue("metadata")}, {"expires_in", s.opt.token_lifetime_seconds}, {"token_type", "Bearer"}});
  } else if (StartsWith(p, guest) && req.method == "PUT") {
    std::string key = p.substr(guest.size());
    if (!StartsWith(key, "cloudcoop/")) {
      r.status = 400;
      r.body = "unexpected guest attribute namespace";
    } else {
      s.metadata_guest[key.substr(10)] = req.body;
      r.status = 200;
    }
  } else {
    r.status = 404;
    r.body = "Not Found";
  }
  r.headers.push_back({"Metadata-Flavor", "Google"});
  return r;
}

}  // namespace routes

}  // namespace cloudcoop::fakegcp
