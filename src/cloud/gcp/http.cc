#include "cloud/gcp/http.h"

#include <arpa/inet.h>
#include <sys/random.h>

#include <cstdio>

#include "core/strings.h"

namespace cloudcoop::gcp {

std::string HttpResponse::Header(std::string_view name) const {
  std::string lower = ToLower(name);
  for (const auto& h : headers) {
    if (ToLower(h.name) == lower) return h.value;
  }
  return "";
}

StatusOr<ParsedUrl> ParseUrl(std::string_view url) {
  auto bad = [&](const std::string& why) {
    return FailedPreconditionError("URL \"" + std::string(url) + "\" is not usable: " + why)
        .WithFix("use an absolute http(s) URL such as https://compute.googleapis.com/compute/v1/");
  };
  ParsedUrl out;
  size_t colon = url.find("://");
  if (colon == std::string_view::npos) return bad("no scheme");
  out.scheme = ToLower(url.substr(0, colon));
  if (out.scheme != "http" && out.scheme != "https") return bad("only http and https are supported");
  std::string_view rest = url.substr(colon + 3);
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  out.path = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (authority.find('@') != std::string_view::npos) return bad("user information in URLs is refused");
  std::string_view port_text;
  if (!authority.empty() && authority[0] == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return bad("unclosed IPv6 bracket");
    out.host = std::string(authority.substr(1, close - 1));
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return bad("junk after the IPv6 address");
      port_text = authority.substr(close + 2);
    }
  } else {
    size_t pc = authority.rfind(':');
    out.host = std::string(authority.substr(0, pc));
    if (pc != std::string_view::npos) port_text = authority.substr(pc + 1);
  }
  if (out.host.empty()) return bad("no host");
  if (port_text.empty()) {
    out.port = out.scheme == "https" ? 443 : 80;
  } else {
    auto port = ParseInt64(port_text);
    if (!port || *port <= 0 || *port > 65535) return bad("bad port");
    out.port = static_cast<int>(*port);
  }
  return out;
}

bool IsLoopbackHost(std::string_view host) {
  if (ToLower(host) == "localhost") return true;
  std::string h(host);
  unsigned char buf[16];
  if (inet_pton(AF_INET, h.c_str(), buf) == 1) return buf[0] == 127;
  if (inet_pton(AF_INET6, h.c_str(), buf) == 1) {
    for (int i = 0; i < 15; ++i) {
      if (buf[i] != 0) return false;
    }
    return buf[15] == 1;
  }
  return false;
}

Status CheckCredentialUrl(std::string_view url, std::string_view what) {
  CC_ASSIGN_OR_RETURN(ParsedUrl parsed, ParseUrl(url));
  if (parsed.scheme == "https") return OkStatus();
  if (IsLoopbackHost(parsed.host) || parsed.host == "169.254.169.254" || parsed.host == "metadata.google.internal" ||
      parsed.host == "metadata.google.internal.") {
    return OkStatus();
  }
  return FailedPreconditionError(std::string(what) + " " + std::string(url) +
                                 " uses plain http to a non-local host: credentials would travel unencrypted")
      .WithFix("use an https URL (plain http is accepted only for 127.0.0.0/8, ::1 and the metadata server)");
}

std::string UrlEncode(std::string_view text) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
        c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string FormEncode(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string out;
  for (const auto& [k, v] : fields) {
    if (!out.empty()) out += '&';
    out += UrlEncode(k) + "=" + UrlEncode(v);
  }
  return out;
}

std::string NewUuid() {
  unsigned char b[16];
  size_t got = 0;
  while (got < sizeof b) {
    ssize_t n = getrandom(b + got, sizeof b - got, 0);
    if (n > 0) got += static_cast<size_t>(n);
  }
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
  return buf;
}

}  // namespace cloudcoop::gcp
