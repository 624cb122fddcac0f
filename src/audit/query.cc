#include "audit/query.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "audit/head.h"
#include "core/files.h"
#include "core/strings.h"

namespace cloudcoop::audit {

bool MatchesFilter(const QueryFilter& f, const Record& r, std::string_view line) {
  if (!f.agent.empty() && r.agent != f.agent) return false;
  if (f.type && r.type != *f.type) return false;
  if (f.since || f.until) {
    SystemTime t;
    if (!ParseRfc3339(r.time, &t)) return false;
    if (f.since && t < *f.since) return false;
    if (f.until && t >= *f.until) return false;
  }
  if (!f.grep.empty() && ToLower(line).find(ToLower(f.grep)) == std::string::npos) return false;
  return true;
}

StatusOr<SystemTime> ParseTimeArg(std::string_view text, SystemTime now) {
  SystemTime t;
  if (ParseRfc3339(std::string(text), &t)) return t;
  if (text.size() >= 2) {
    char unit = text.back();
    auto n = ParseInt64(text.substr(0, text.size() - 1));
    int64_t secs = unit == 's' ? 1 : unit == 'm' ? 60 : unit == 'h' ? 3600 : unit == 'd' ? 86400 : unit == 'w' ? 604800 : 0;
    if (n && *n >= 0 && secs > 0 && *n <= INT64_MAX / secs / 1000) {
      return now - std::chrono::seconds(*n * secs);
    }
  }
  return InvalidArgumentError("time \"" + std::string(text) + "\" is neither RFC 3339 nor an age like 10m, 2h or 1d")
      .WithFix("use e.g. 2026-05-01T12:00:00Z, 2026-05-01T14:00:00+02:00, 90s, 10m, 2h, 1d or 1w");
}

Status LogReader::ReadNew(const RecordFn& on_record, const BadLineFn& on_bad) {
  if (!IsDirectory(dir_)) return OkStatus();
  CC_ASSIGN_OR_RETURN(std::vector<std::string> names, ListDir(dir_));
  std::vector<std::string> segments;
  for (const auto& n : names) {
    if (ParseSegmentName(n) && n >= segment_) segments.push_back(n);
  }
  for (const auto& name : segments) {
    if (name != segment_) {
      // A new segment (rotation), or the one we were reading was removed by retention.
      segment_ = name;
      offset_ = 0;
    }
    std::string path = JoinPath(dir_, name);
    UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!fd.valid()) {
      if (errno == ENOENT) continue;  // removed by retention meanwhile
      return ErrnoError(errno, "open audit segment " + path);
    }
    std::string data;
    char buf[65536];
    for (off_t off = static_cast<off_t>(offset_);;) {
      ssize_t n = pread(fd.get(), buf, sizeof buf, off);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return ErrnoError(errno, "read audit segment " + path);
      if (n == 0) break;
      data.append(buf, static_cast<size_t>(n));
      off += n;
    }
    size_t pos = 0;
    for (size_t nl; (nl = data.find('\n', pos)) != std::string::npos; pos = nl + 1) {
      std::string_view line(data.data() + pos, nl - pos);
      auto rec = ParseRecord(line);
      if (rec.ok()) {
        on_record(*rec, line);
      } else if (on_bad) {
        on_bad(name, offset_ + pos, rec.status());
      }
    }
    offset_ += pos;
  }
  return OkStatus();
}

std::string FormatActor(const Fields& actor) {
  auto str = [&](const char* k) -> std::string {
    auto it = actor.find(k);
    if (it == actor.end()) return "";
    if (it->second.kind() == FieldValue::Kind::kString) return it->second.as_string();
    if (it->second.kind() == FieldValue::Kind::kInt) return std::to_string(it->second.as_int());
    return "";
  };
  std::string kind = str("kind");
  if (kind == "operator") {
    std::string user = str("user").empty() ? "uid " + str("uid") : str("user");
    std::string sudo = str("sudo_user");
    return sudo.empty() ? user : user + " (sudo from " + sudo + ")";
  }
  if (kind == "system") return "system:" + str("component");
  if (kind == "agent") return "agent:" + str("name");
  std::string out;
  AppendCanonicalJson(FieldValue(actor), &out);
  return out;
}

namespace {

std::string FieldText(const FieldValue& v) {
  if (v.kind() == FieldValue::Kind::kString) {
    const std::string& s = v.as_string();
    bool plain = !s.empty() && s.find_first_of(" \t\n\"\\=") == std::string::npos;
    if (plain) return s;
  }
  std::string out;
  AppendCanonicalJson(v, &out);
  return out;
}

}  // namespace

std::string FormatRecordText(const Record& r) {
  std::string type(RecordTypeName(r.type));
  type.resize(std::max<size_t>(type.size(), 10), ' ');
  std::string out = r.time + "  #" + std::to_string(r.seq) + "  " + type + " ";
  if (!r.agent.empty()) out += "[" + r.agent + "] ";
  out += FormatActor(r.actor);
  // The action or event names what happened; the rest follow in key order.
  for (const char* lead : {"action", "event"}) {
    auto it = r.fields.find(lead);
    if (it != r.fields.end()) out += "  " + FieldText(it->second);
  }
  for (const auto& [k, v] : r.fields) {
    if (k == "action" || k == "event") continue;
    out += "  " + k + "=" + FieldText(v);
  }
  return out;
}

}  // namespace cloudcoop::audit
