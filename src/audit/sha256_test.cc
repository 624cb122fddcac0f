// SHA-256 against the FIPS 180-4 examples (NIST CSRC "Examples with Intermediate Values") and the
// NIST CAVP long-message vector, plus incremental updates split at every position.
#include "audit/sha256.h"

#include <gtest/gtest.h>

#include <random>

namespace cloudcoop::audit {
namespace {

TEST(Sha256Test, FipsVectors) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(Sha256Hex("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrs"
                      "mnopqrstnopqrstu"),
            "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
  EXPECT_EQ(Sha256Hex(std::string(1000000, 'a')), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256Test, PaddingBoundaries) {
  // Lengths around the 55/56/64-byte padding edges, checked against values from coreutils sha256sum.
  EXPECT_EQ(Sha256Hex(std::string(55, 'a')), "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
  EXPECT_EQ(Sha256Hex(std::string(56, 'a')), "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
  EXPECT_EQ(Sha256Hex(std::string(64, 'a')), "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
}

TEST(Sha256Test, IncrementalEqualsOneShot) {
  std::mt19937 rng(7);
  std::string data(300, '\0');
  for (char& c : data) c = static_cast<char>(rng());
  std::string expected = Sha256Hex(data);
  for (size_t split = 0; split <= data.size(); ++split) {
    Sha256 h;
    h.Update(std::string_view(data).substr(0, split));
    h.Update(std::string_view(data).substr(split));
    ASSERT_EQ(DigestHex(h.Finish()), expected) << split;
  }
  Sha256 bytewise;
  for (char c : data) bytewise.Update(std::string_view(&c, 1));
  EXPECT_EQ(DigestHex(bytewise.Finish()), expected);
}

TEST(Sha256Test, DigestHexShape) {
  EXPECT_TRUE(IsDigestHex(Sha256Hex("x")));
  EXPECT_FALSE(IsDigestHex(std::string(64, 'A')));
  EXPECT_FALSE(IsDigestHex(std::string(63, '0')));
}

}  // namespace
}  // namespace cloudcoop::audit
