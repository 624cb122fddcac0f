#include "sandbox/dns_message.h"

#include "core/strings.h"

namespace cloudcoop::sandbox::dns {
namespace {

constexpr size_t kHeaderSize = 12;
constexpr int kMaxPointerJumps = 32;
constexpr size_t kMaxNameLength = 255;

uint16_t U16(std::string_view msg, size_t off) {
  return static_cast<uint16_t>((static_cast<uint8_t>(msg[off]) << 8) | static_cast<uint8_t>(msg[off + 1]));
}

// Reads the (possibly compressed) name at `*off`; advances `*off` past it in the record.
Status ReadName(std::string_view msg, size_t* off, std::string* out) {
  out->clear();
  size_t pos = *off;
  size_t after = 0;  // where the record continues once the first pointer was followed
  bool jumped = false;
  int jumps = 0;
  size_t wire_len = 1;
  for (;;) {
    if (pos >= msg.size())
      return InvalidArgumentError("DNS message: a name runs past the end of the message");
    uint8_t len = static_cast<uint8_t>(msg[pos]);
    if ((len & 0xc0) == 0xc0) {
      if (pos + 1 >= msg.size()) return InvalidArgumentError("DNS message: truncated compression pointer");
      size_t target = U16(msg, pos) & 0x3fff;
      // Only backwards pointers: no loops, and the walk always ends.
      if (target >= pos || ++jumps > kMaxPointerJumps) {
        return InvalidArgumentError("DNS message: a compression pointer does not point backwards");
      }
      if (!jumped) after = pos + 2;
      jumped = true;
      pos = target;
      continue;
    }
    if ((len & 0xc0) != 0) return InvalidArgumentError("DNS message: unsupported label type");
    if (len == 0) {
      *off = jumped ? after : pos + 1;
      return OkStatus();
    }
    if (pos + 1 + len > msg.size()) return InvalidArgumentError("DNS message: a label runs past the end");
    wire_len += size_t{len} + 1;
    if (wire_len > kMaxNameLength)
      return InvalidArgumentError("DNS message: a name is longer than 255 bytes");
    if (!out->empty()) out->push_back('.');
    for (size_t i = 0; i < len; ++i) {
      char c = msg[pos + 1 + i];
      out->push_back((c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c);
    }
    pos += 1 + len;
  }
}

Status ReadQuestion(std::string_view msg, size_t* off, Question* q) {
  CC_RETURN_IF_ERROR(ReadName(msg, off, &q->name));
  if (*off + 4 > msg.size()) return InvalidArgumentError("DNS message: truncated question");
  q->qtype = U16(msg, *off);
  q->qclass = U16(msg, *off + 2);
  *off += 4;
  return OkStatus();
}

void PutU16(std::string* out, uint16_t v) {
  out->push_back(static_cast<char>(v >> 8));
  out->push_back(static_cast<char>(v & 0xff));
}

}  // namespace

StatusOr<Header> ParseHeader(std::string_view msg) {
  if (msg.size() < kHeaderSize) return InvalidArgumentError("DNS message: shorter than its 12-byte header");
  Header h;
  h.id = U16(msg, 0);
  h.flags = U16(msg, 2);
  h.qdcount = U16(msg, 4);
  h.ancount = U16(msg, 6);
  h.nscount = U16(msg, 8);
  h.arcount = U16(msg, 10);
  return h;
}

StatusOr<Question> ParseQuery(std::string_view msg) {
  CC_ASSIGN_OR_RETURN(Header h, ParseHeader(msg));
  if (h.qr()) return InvalidArgumentError("DNS query: the message is a response");
  if (h.opcode() != 0)
    return InvalidArgumentError("DNS query: opcode " + std::to_string(h.opcode()) + " is not QUERY");
  if (h.qdcount != 1)
    return InvalidArgumentError("DNS query: " + std::to_string(h.qdcount) + " questions instead of 1");
  size_t off = kHeaderSize;
  Question q;
  CC_RETURN_IF_ERROR(ReadQuestion(msg, &off, &q));
  return q;
}

StatusOr<Response> ParseResponse(std::string_view msg) {
  CC_ASSIGN_OR_RETURN(Header h, ParseHeader(msg));
  if (!h.qr()) return InvalidArgumentError("DNS response: the message is a query");
  if (h.qdcount != 1)
    return InvalidArgumentError("DNS response: " + std::to_string(h.qdcount) + " questions instead of 1");
  Response r;
  r.header = h;
  size_t off = kHeaderSize;
  CC_RETURN_IF_ERROR(ReadQuestion(msg, &off, &r.question));
  size_t total = size_t{h.ancount} + h.nscount + h.arcount;
  for (size_t i = 0; i < total; ++i) {
    Record rec;
    CC_RETURN_IF_ERROR(ReadName(msg, &off, &rec.name));
    if (off + 10 > msg.size()) return InvalidArgumentError("DNS response: truncated record header");
    rec.type = U16(msg, off);
    rec.rclass = U16(msg, off + 2);
    uint16_t rdlen = U16(msg, off + 8);
    off += 10;
    if (off + rdlen > msg.size()) return InvalidArgumentError("DNS response: record data runs past the end");
    rec.rdata = msg.substr(off, rdlen);
    off += rdlen;
    if (rec.rclass == kClassIn && rec.type == kTypeA) {
      if (rdlen != 4) return InvalidArgumentError("DNS response: an A record is not 4 bytes");
      r.addresses.push_back(IpAddr::V4Bytes(reinterpret_cast<const uint8_t*>(rec.rdata.data())));
    } else if (rec.rclass == kClassIn && rec.type == kTypeAaaa) {
      if (rdlen != 16) return InvalidArgumentError("DNS response: an AAAA record is not 16 bytes");
      r.addresses.push_back(IpAddr::V6Bytes(reinterpret_cast<const uint8_t*>(rec.rdata.data())));
    }
    r.records.push_back(std::move(rec));
  }
  return r;
}

std::string MakeErrorReply(std::string_view query, int rcode) {
  if (query.size() < kHeaderSize) return "";
  size_t off = kHeaderSize;
  Question q;
  bool has_question = U16(query, 4) == 1 && ReadQuestion(query, &off, &q).ok();
  std::string out(query.substr(0, kHeaderSize));
  uint16_t flags = U16(query, 2);
  // QR=1, keep opcode and RD, set RA, clear AA/TC/Z bits, set the rcode.
  flags = static_cast<uint16_t>(0x8000 | (flags & 0x7900) | 0x0080 | (rcode & 0xf));
  out[2] = static_cast<char>(flags >> 8);
  out[3] = static_cast<char>(flags & 0xff);
  for (size_t i = 4; i < kHeaderSize; ++i) out[i] = 0;
  if (has_question) {
    out[5] = 1;
    out.append(query.substr(kHeaderSize, off - kHeaderSize));
  }
  return out;
}

std::string MakeQuery(uint16_t id, std::string_view name, uint16_t qtype) {
  std::string out;
  PutU16(&out, id);
  PutU16(&out, 0x0100);  // RD
  PutU16(&out, 1);
  PutU16(&out, 0);
  PutU16(&out, 0);
  PutU16(&out, 0);
  for (const auto& label : Split(name, '.', true)) {
    out.push_back(static_cast<char>(label.size() & 0x3f));
    out.append(label.substr(0, 63));
  }
  out.push_back('\0');
  PutU16(&out, qtype);
  PutU16(&out, kClassIn);
  return out;
}

bool IsBlockedName(std::string_view name) {
  std::string n = ToLower(name);
  while (!n.empty() && n.back() == '.') n.pop_back();
  for (std::string_view blocked : {"metadata.google.internal", "metadata.goog"}) {
    if (n == blocked || EndsWith(n, "." + std::string(blocked))) return true;
  }
  return n == "metadata";
}

}  // namespace cloudcoop::sandbox::dns
