#include "testing/fake_gcp/body_schema.h"

#include <nlohmann/json.hpp>

#include <map>
#include <regex>

namespace cloudcoop::fakegcp {
namespace {

using nlohmann::json;

enum class T { kString, kBool, kInt64, kInt32, kNumber, kObject, kArray, kStringMap, kAny };

struct Field;
using Schema = std::map<std::string, Field>;

struct Field {
  T type = T::kString;
  const Schema* object = nullptr;  // kObject, or the element schema of a kArray of objects
  T element = T::kString;          // kArray element type
};

Field Str() { return {T::kString}; }
Field Bool() { return {T::kBool}; }
Field I64() { return {T::kInt64}; }
Field I32() { return {T::kInt32}; }
Field Obj(const Schema& s) { return {T::kObject, &s}; }
Field StrList() { return {T::kArray, nullptr, T::kString}; }
Field ObjList(const Schema& s) { return {T::kArray, &s, T::kObject}; }
Field StrMap() { return {T::kStringMap}; }

const Schema kAccessConfig = {{"kind", Str()},        {"name", Str()},           {"type", Str()},
                              {"natIP", Str()},       {"networkTier", Str()},    {"setPublicPtr", Bool()},
                              {"publicPtrDomainName", Str()}, {"externalIpv6", Str()}, {"externalIpv6PrefixLength", I32()}};
const Schema kAliasRange = {{"ipCidrRange", Str()}, {"subnetworkRangeName", Str()}};
const Schema kNetworkInterface = {{"kind", Str()},       {"name", Str()},       {"network", Str()},
                                  {"subnetwork", Str()}, {"networkIP", Str()},  {"accessConfigs", ObjList(kAccessConfig)},
                                  {"ipv6AccessConfigs", ObjList(kAccessConfig)}, {"aliasIpRanges", ObjList(kAliasRange)},
                                  {"stackType", Str()},  {"nicType", Str()},    {"queueCount", I32()}};
const Schema kInitializeParams = {{"sourceImage", Str()},      {"diskSizeGb", I64()},   {"diskType", Str()},
                                  {"diskName", Str()},         {"description", Str()},  {"labels", StrMap()},
                                  {"provisionedIops", I64()},  {"provisionedThroughput", I64()},
                                  {"resourceManagerTags", StrMap()}, {"architecture", Str()}};
const Schema kAttachedDisk = {{"kind", Str()},       {"boot", Bool()},      {"autoDelete", Bool()},
                              {"mode", Str()},       {"type", Str()},       {"deviceName", Str()},
                              {"source", Str()},     {"interface", Str()},  {"initializeParams", Obj(kInitializeParams)},
                              {"diskSizeGb", I64()}, {"index", I32()}};
const Schema kServiceAccount = {{"email", Str()}, {"scopes", StrList()}};
const Schema kMetadataItem = {{"key", Str()}, {"value", Str()}};
const Schema kMetadata = {{"kind", Str()}, {"fingerprint", Str()}, {"items", ObjList(kMetadataItem)}};
const Schema kShielded = {{"enableSecureBoot", Bool()}, {"enableVtpm", Bool()}, {"enableIntegrityMonitoring", Bool()}};
const Schema kDuration = {{"seconds", I64()}, {"nanos", I32()}};
const Schema kStopAction = {{"discardLocalSsd", Bool()}};
const Schema kScheduling = {{"automaticRestart", Bool()},       {"onHostMaintenance", Str()},
                            {"preemptible", Bool()},            {"provisioningModel", Str()},
                            {"instanceTerminationAction", Str()}, {"maxRunDuration", Obj(kDuration)},
                            {"terminationTime", Str()},         {"localSsdRecoveryTimeout", Obj(kDuration)},
                            {"onInstanceStopAction", Obj(kStopAction)}, {"minNodeCpus", I32()}};
const Schema kTags = {{"items", StrList()}, {"fingerprint", Str()}};
const Schema kReservationAffinity = {{"consumeReservationType", Str()}, {"key", Str()}, {"values", StrList()}};
const Schema kConfidential = {{"enableConfidentialCompute", Bool()}, {"confidentialInstanceType", Str()}};
const Schema kDisplay = {{"enableDisplay", Bool()}};
const Schema kParams = {{"resourceManagerTags", StrMap()}};
const Schema kInstance = {{"kind", Str()},
                          {"name", Str()},
                          {"description", Str()},
                          {"machineType", Str()},
                          {"minCpuPlatform", Str()},
                          {"canIpForward", Bool()},
                          {"deletionProtection", Bool()},
                          {"disks", ObjList(kAttachedDisk)},
                          {"networkInterfaces", ObjList(kNetworkInterface)},
                          {"serviceAccounts", ObjList(kServiceAccount)},
                          {"metadata", Obj(kMetadata)},
                          {"shieldedInstanceConfig", Obj(kShielded)},
                          {"scheduling", Obj(kScheduling)},
                          {"labels", StrMap()},
                          {"tags", Obj(kTags)},
                          {"reservationAffinity", Obj(kReservationAffinity)},
                          {"confidentialInstanceConfig", Obj(kConfidential)},
                          {"displayDevice", Obj(kDisplay)},
                          {"keyRevocationActionType", Str()},
                          {"params", Obj(kParams)}};
const Schema kFirewallPorts = {{"IPProtocol", Str()}, {"ports", StrList()}};
const Schema kFirewallLog = {{"enable", Bool()}, {"metadata", Str()}};
const Schema kFirewall = {{"kind", Str()},          {"name", Str()},
                          {"description", Str()},   {"network", Str()},
                          {"direction", Str()},     {"priority", I32()},
                          {"sourceRanges", StrList()}, {"destinationRanges", StrList()},
                          {"sourceTags", StrList()},   {"targetTags", StrList()},
                          {"sourceServiceAccounts", StrList()}, {"targetServiceAccounts", StrList()},
                          {"allowed", ObjList(kFirewallPorts)}, {"denied", ObjList(kFirewallPorts)},
                          {"disabled", Bool()},     {"logConfig", Obj(kFirewallLog)}};
const Schema kSetMachineType = {{"machineType", Str()}};
const Schema kPolicyOptions = {{"requestedPolicyVersion", I32()}};
const Schema kGetIamPolicy = {{"options", Obj(kPolicyOptions)}};
const Schema kCondition = {{"title", Str()}, {"description", Str()}, {"expression", Str()}, {"location", Str()}};
const Schema kBinding = {{"role", Str()}, {"members", StrList()}, {"condition", Obj(kCondition)}};
const Schema kAuditLogConfig = {{"logType", Str()}, {"exemptedMembers", StrList()}};
const Schema kAuditConfig = {{"service", Str()}, {"auditLogConfigs", ObjList(kAuditLogConfig)}};
const Schema kPolicy = {{"version", I32()}, {"etag", Str()}, {"bindings", ObjList(kBinding)}, {"auditConfigs", ObjList(kAuditConfig)}};
const Schema kSetIamPolicy = {{"policy", Obj(kPolicy)}, {"updateMask", Str()}};
const Schema kGenerateAccessToken = {{"delegates", StrList()}, {"scope", StrList()}, {"lifetime", Str()}};
const Schema kEmpty = {};

const char* TypeName(T t) {
  switch (t) {
    case T::kString: return "TYPE_STRING";
    case T::kBool: return "TYPE_BOOL";
    case T::kInt64: return "TYPE_INT64";
    case T::kInt32: return "TYPE_INT32";
    case T::kNumber: return "TYPE_DOUBLE";
    default: return "TYPE_MESSAGE";
  }
}

bool Fits(const json& v, T t) {
  static const std::regex digits("^-?[0-9]+$");
  switch (t) {
    case T::kString: return v.is_string();
    case T::kBool: return v.is_boolean();
    case T::kInt64: return v.is_number_integer() || (v.is_string() && std::regex_match(v.get<std::string>(), digits));
    case T::kInt32: return v.is_number_integer() || (v.is_string() && std::regex_match(v.get<std::string>(), digits));
    case T::kNumber: return v.is_number();
    case T::kObject: return v.is_object();
    case T::kArray: return v.is_array();
    case T::kStringMap: return v.is_object();
    case T::kAny: return true;
  }
  return false;
}

std::string Check(const json& j, const Schema& schema, const std::string& at) {
  if (!j.is_object()) return "Invalid JSON payload received. Expected an object at '" + at + "'.";
  for (auto it = j.begin(); it != j.end(); ++it) {
    auto f = schema.find(it.key());
    if (f == schema.end()) {
      return "Invalid JSON payload received. Unknown name \"" + it.key() + "\" at '" + at + "': Cannot find field.";
    }
    const Field& field = f->second;
    std::string here = at + "." + it.key();
    const json& v = it.value();
    if (v.is_null()) continue;
    if (!Fits(v, field.type)) {
      return "Invalid value at '" + here + "' (" + TypeName(field.type) + "), " + v.dump();
    }
    if (field.type == T::kObject) {
      if (std::string e = Check(v, *field.object, here); !e.empty()) return e;
    } else if (field.type == T::kStringMap) {
      for (auto m = v.begin(); m != v.end(); ++m) {
        if (!m.value().is_string()) return "Invalid value at '" + here + "[" + m.key() + "]' (TYPE_STRING), " + m.value().dump();
      }
    } else if (field.type == T::kArray) {
      for (size_t i = 0; i < v.size(); ++i) {
        std::string el = here + "[" + std::to_string(i) + "]";
        if (field.element == T::kObject) {
          if (std::string e = Check(v[i], *field.object, el); !e.empty()) return e;
        } else if (!Fits(v[i], field.element)) {
          return "Invalid value at '" + el + "' (" + TypeName(field.element) + "), " + v[i].dump();
        }
      }
    }
  }
  return "";
}

}  // namespace

std::string ValidateBody(const json& body, BodyKind kind) {
  switch (kind) {
    case BodyKind::kInstance: return Check(body, kInstance, "resource");
    case BodyKind::kFirewall: return Check(body, kFirewall, "resource");
    case BodyKind::kSetMachineType: return Check(body, kSetMachineType, "resource");
    case BodyKind::kMetadata: return Check(body, kMetadata, "resource");
    case BodyKind::kGetIamPolicy: return Check(body, kGetIamPolicy, "request");
    case BodyKind::kSetIamPolicy: return Check(body, kSetIamPolicy, "request");
    case BodyKind::kGenerateAccessToken: return Check(body, kGenerateAccessToken, "request");
    case BodyKind::kEmpty: return body.is_null() ? "" : Check(body, kEmpty, "request");
  }
  return "";
}

}  // namespace cloudcoop::fakegcp
