// The parts of the DNS wire format (RFC 1035) the sandbox DNS relay needs: read a query's question,
// walk every resource record of a response to find the addresses it hands out, and build error
// replies. Bounds-checked everywhere; compression pointers may only point backwards, so a crafted
// message cannot loop. Names are lower-case, dot-separated, without the trailing dot.
#ifndef CLOUDCOOP_SANDBOX_DNS_MESSAGE_H_
#define CLOUDCOOP_SANDBOX_DNS_MESSAGE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "sandbox/net_addr.h"

namespace cloudcoop::sandbox::dns {

constexpr uint16_t kTypeA = 1;
constexpr uint16_t kTypeCname = 5;
constexpr uint16_t kTypePtr = 12;
constexpr uint16_t kTypeAaaa = 28;
constexpr uint16_t kTypeAny = 255;
constexpr uint16_t kClassIn = 1;

constexpr int kRcodeNoError = 0;
constexpr int kRcodeFormErr = 1;
constexpr int kRcodeServFail = 2;
constexpr int kRcodeNxDomain = 3;
constexpr int kRcodeRefused = 5;

struct Header {
  uint16_t id = 0;
  uint16_t flags = 0;
  uint16_t qdcount = 0, ancount = 0, nscount = 0, arcount = 0;
  bool qr() const { return flags & 0x8000; }
  int opcode() const { return (flags >> 11) & 0xf; }
  bool tc() const { return flags & 0x0200; }
  int rcode() const { return flags & 0xf; }
};

struct Question {
  std::string name;  // "example.test"; "" for the root
  uint16_t qtype = 0;
  uint16_t qclass = 0;
  bool operator==(const Question& o) const = default;
};

struct Record {
  std::string name;
  uint16_t type = 0;
  uint16_t rclass = 0;
  std::string_view rdata;  // points into the parsed message
};

StatusOr<Header> ParseHeader(std::string_view msg);

// A standard query (QR 0, opcode QUERY) with exactly one question.
StatusOr<Question> ParseQuery(std::string_view msg);

struct Response {
  Header header;
  Question question;
  std::vector<Record> records;    // answer, authority and additional sections, in order
  std::vector<IpAddr> addresses;  // rdata of every class-IN A and AAAA record among them
};
// A response (QR 1) with one question; every record is walked. The views in `records` point
// into `msg`.
StatusOr<Response> ParseResponse(std::string_view msg);

// A reply to `query` that carries only its header and question, with `rcode` set (REFUSED,
// SERVFAIL, FORMERR). Empty when the query is too short to echo.
std::string MakeErrorReply(std::string_view query, int rcode);

// A query for `name`/`qtype` with id `id` and recursion desired (used by tests and probes).
std::string MakeQuery(uint16_t id, std::string_view name, uint16_t qtype);

// Names a sandbox may never resolve, whatever the upstream resolver says: the cloud metadata
// server's names (metadata.google.internal and everything under it, metadata.goog, and the bare
// "metadata" that GCE's search path turns into it).
bool IsBlockedName(std::string_view name);

}  // namespace cloudcoop::sandbox::dns

#endif  // CLOUDCOOP_SANDBOX_DNS_MESSAGE_H_
