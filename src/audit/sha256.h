// SHA-256 (FIPS 180-4), written here rather than linked: the audit chain needs only this one
// function, and a crypto library would add a shared object to every start (docs/adr/0002).
// Tested against the FIPS 180-4 / NIST CAVP vectors in sha256_test.cc.
#ifndef CLOUDCOOP_AUDIT_SHA256_H_
#define CLOUDCOOP_AUDIT_SHA256_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace cloudcoop::audit {

class Sha256 {
 public:
  using Digest = std::array<uint8_t, 32>;
  Sha256() { Reset(); }
  void Reset();
  void Update(std::string_view data);
  Digest Finish();  // the object must be Reset() before it is used again

 private:
  void Block(const uint8_t* p);
  uint32_t h_[8];
  uint8_t buf_[64];
  size_t buf_len_ = 0;
  uint64_t total_ = 0;
};

Sha256::Digest Sha256Of(std::string_view data);
// Lower-case hex of a digest (64 characters).
std::string DigestHex(const Sha256::Digest& d);
std::string Sha256Hex(std::string_view data);
// True for exactly 64 lower-case hex digits.
bool IsDigestHex(std::string_view text);

}  // namespace cloudcoop::audit

#endif  // CLOUDCOOP_AUDIT_SHA256_H_
