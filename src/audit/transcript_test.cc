// The redacting transcript writer: split secrets, long lines, rotation, tails, escape stripping.
#include "audit/transcript.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>

#include "core/files.h"
#include "testing/test_util.h"

namespace cloudcoop::audit {
namespace {

const char* kGithub = "ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8";
const char* kSecret = "Sup3rS3cretValue-for-the-test";

std::shared_ptr<Redactor> MakeRedactor() {
  auto r = std::make_shared<Redactor>();
  EXPECT_TRUE(r->AddSecret("MY_API_SECRET", kSecret));
  return r;
}

std::string ReadAll(const std::string& path) {
  auto s = ReadFile(path);
  return s.ok() ? *s : std::string();
}

TEST(TranscriptTest, WritesRedactedTextWithPrivateModes) {
  testing::TempDir tmp;
  std::string dir = tmp.path() + "/transcripts";
  auto w = TranscriptWriter::Open({dir, "alpha", 1 << 20}, MakeRedactor());
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  ASSERT_TRUE((*w)->Write(std::string("hello ") + kSecret + " and " + kGithub + "\n").ok());
  ASSERT_TRUE((*w)->Finish().ok());
  std::string text = ReadAll(TranscriptPath(dir, "alpha"));
  EXPECT_EQ(text, "hello [REDACTED:MY_API_SECRET] and [REDACTED:github-token]\n");
  struct stat st;
  ASSERT_EQ(stat(dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(stat(TranscriptPath(dir, "alpha").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(TranscriptTest, SecretSplitAcrossEveryPossibleBoundaryIsMasked) {
  testing::TempDir tmp;
  std::string dir = tmp.path() + "/t";
  for (const std::string& secret : {std::string(kSecret), std::string(kGithub)}) {
    std::string line = "token=" + secret + " end\n";
    for (size_t cut = 1; cut < line.size(); ++cut) {
      (void)RemoveTree(dir);
      auto w = TranscriptWriter::Open({dir, "beta", 1 << 20}, MakeRedactor());
      ASSERT_TRUE(w.ok()) << w.status().ToString();
      ASSERT_TRUE((*w)->Write(line.substr(0, cut)).ok());
      // Part of it may already be on disk: never the secret's start with its end.
      ASSERT_TRUE((*w)->Write(line.substr(cut)).ok());
      ASSERT_TRUE((*w)->Finish().ok());
      std::string text = ReadAll(TranscriptPath(dir, "beta"));
      EXPECT_EQ(text.find(secret), std::string::npos) << "cut " << cut << ": " << text;
      EXPECT_EQ(text.find(secret.substr(0, secret.size() / 2 + 2)), std::string::npos) << "cut " << cut;
      EXPECT_NE(text.find("[REDACTED"), std::string::npos) << text;
    }
  }
}

// A secret with a colour before every character, split into two writes at every byte: never on
// disk, neither in the bytes nor in what `cloudcoop logs` shows (ADR 0018).
TEST(TranscriptTest, SecretSplitByEscapeSequencesIsMasked) {
  testing::TempDir tmp;
  std::string dir = tmp.path() + "/t";
  std::string secret = kSecret;
  std::string coloured;
  for (size_t i = 0; i < secret.size(); ++i) coloured += "\x1b[3" + std::to_string(i % 8) + "m" + secret[i];
  std::string line = "key: " + coloured + "\x1b[0m ok\r\n";
  for (size_t cut = 1; cut < line.size(); ++cut) {
    (void)RemoveTree(dir);
    auto w = TranscriptWriter::Open({dir, "eps", 1 << 20}, MakeRedactor());
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    ASSERT_TRUE((*w)->Write(line.substr(0, cut)).ok());
    ASSERT_TRUE((*w)->Write(line.substr(cut)).ok());
    ASSERT_TRUE((*w)->Finish().ok());
    std::string text = ReadAll(TranscriptPath(dir, "eps"));
    std::string shown = StripTerminalEscapes(text);
    EXPECT_EQ(shown, "key: [REDACTED:MY_API_SECRET] ok\n") << "cut " << cut;
    EXPECT_EQ(shown.find(secret.substr(0, 6)), std::string::npos) << "cut " << cut;
  }
}

TEST(TranscriptTest, ByteByByteWritesAreMasked) {
  testing::TempDir tmp;
  std::string dir = tmp.path() + "/t";
  auto w = TranscriptWriter::Open({dir, "gamma", 1 << 20}, MakeRedactor());
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  std::string in = std::string("a ") + kSecret + " b " + kGithub + " c\n";
  for (char c : in) ASSERT_TRUE((*w)->Write(std::string_view(&c, 1)).ok());
  ASSERT_TRUE((*w)->Finish().ok());
  EXPECT_EQ(ReadAll(TranscriptPath(dir, "gamma")), "a [REDACTED:MY_API_SECRET] b [REDACTED:github-token] c\n");
}

TEST(TranscriptTest, LongLinesWithoutNewlineStillMaskSecrets) {
  testing::TempDir tmp;
  std::string dir = tmp.path() + "/t";
  auto w = TranscriptWriter::Open({dir, "delta", 64 << 20}, MakeRedactor());
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  // 300 KB without a newline, with secrets in it, fed in 1000-byte pieces that cut through them.
  std::string in;
  for (int i = 0; i < 3000; ++i) {
    in += std::string(90, 'x') + " ";
    if (i % 500 == 7) in += kSecret + std::string(" ");
    if (i % 700 == 3) in += kGithub + std::string(" ");
  }
  for (size_t i = 0; i < in.size(); i += 1000) ASSERT_TRUE((*w)->Write(in.substr(i, 1000)).ok());
  ASSERT_TRUE((*w)->Finish().ok());
  std::string text = ReadAll(TranscriptPath(dir, "delta"));
  EXPECT_EQ(text.find(kSecret), std::string::npos);
  EXPECT_EQ(text.find(kGithub), std::string::npos);
  EXPECT_GT(text.size(), 270000u);
  // A single secret-looking token longer than the stream's hold is masked, never leaked.
  (void)RemoveTree(dir);
  auto w2 = TranscriptWriter::Open({dir, "delta", 64 << 20}, MakeRedactor());
  ASSERT_TRUE(w2.ok());
  std::string huge = "ghp_" + std::string(Redactor::Stream::kMaxHold + 5000, 'A') + "\nafter\n";
  for (size_t i = 0; i < huge.size(); i += 4096) ASSERT_TRUE((*w2)->Write(huge.substr(i, 4096)).ok());
  ASSERT_TRUE((*w2)->Finish().ok());
  text = ReadAll(TranscriptPath(dir, "delta"));
  EXPECT_EQ(text.find("ghp_AAAA"), std::string::npos);
  EXPECT_EQ(text.find(std::string(100, 'A')), std::string::npos);
  EXPECT_NE(text.find("after\n"), std::string::npos);
}

TEST(TranscriptTest, RotationKeepsSizeBoundedAndOnePreviousFile) {
  testing::TempDir tmp;
  std::string dir = tmp.path() + "/t";
  const uint64_t cap = 8192;
  auto w = TranscriptWriter::Open({dir, "eps", cap}, MakeRedactor());
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  for (int i = 0; i < 2000; ++i) {
    ASSERT_TRUE((*w)->Write("line " + std::to_string(i) + " " + std::string(40, 'y') + "\n").ok());
    struct stat st;
    ASSERT_EQ(stat(TranscriptPath(dir, "eps").c_str(), &st), 0);
    ASSERT_LE(static_cast<uint64_t>(st.st_size), cap);
  }
  ASSERT_TRUE((*w)->Write(std::string(3 * cap, 'z') + "\n").ok());  // one write bigger than the cap
  ASSERT_TRUE((*w)->Write("last line\n").ok());
  ASSERT_TRUE((*w)->Finish().ok());
  EXPECT_GT((*w)->rotations(), 5u);
  auto entries = ListDir(dir);
  ASSERT_TRUE(entries.ok());
  EXPECT_EQ(*entries, (std::vector<std::string>{"eps.log", "eps.log.1"}));
  for (const auto& e : *entries) {
    struct stat st;
    ASSERT_EQ(stat((dir + "/" + e).c_str(), &st), 0);
    EXPECT_LE(static_cast<uint64_t>(st.st_size), cap) << e;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << e;
  }
  auto tail = TranscriptTail(dir, "eps", 1);
  ASSERT_TRUE(tail.ok());
  EXPECT_EQ(*tail, "last line\n");
}

TEST(TranscriptTest, TailReturnsLastLinesAcrossRotation) {
  testing::TempDir tmp;
  std::string dir = tmp.path() + "/t";
  auto missing = TranscriptTail(dir, "zeta", 5);
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().ToString().find("no transcript yet"), std::string::npos);
  auto w = TranscriptWriter::Open({dir, "zeta", 4096}, MakeRedactor());
  ASSERT_TRUE(w.ok());
  for (int i = 1; i <= 1000; ++i) ASSERT_TRUE((*w)->Write("row " + std::to_string(i) + "\n").ok());
  ASSERT_TRUE((*w)->Finish().ok());
  auto t3 = TranscriptTail(dir, "zeta", 3);
  ASSERT_TRUE(t3.ok());
  EXPECT_EQ(*t3, "row 998\nrow 999\nrow 1000\n");
  // More lines than the current file holds: the rest comes from the previous file.
  ASSERT_TRUE((*w)->rotations() > 0);
  auto cur = ReadAll(TranscriptPath(dir, "zeta"));
  int in_cur = static_cast<int>(std::count(cur.begin(), cur.end(), '\n'));
  auto more = TranscriptTail(dir, "zeta", in_cur + 2);
  ASSERT_TRUE(more.ok());
  EXPECT_EQ(std::count(more->begin(), more->end(), '\n'), in_cur + 2);
  EXPECT_EQ(more->substr(more->size() - 9), "row 1000\n");
  auto t0 = TranscriptTail(dir, "zeta", 0);
  ASSERT_TRUE(t0.ok());
  EXPECT_EQ(*t0, "");
}

TEST(TranscriptTest, RefusesATinyCapAndAForeignDirectory) {
  testing::TempDir tmp;
  EXPECT_EQ(TranscriptWriter::Open({tmp.path() + "/t", "eta", 100}, MakeRedactor()).status().code(),
            StatusCode::kInvalidArgument);
  std::string open = tmp.path() + "/open";
  ASSERT_EQ(mkdir(open.c_str(), 0755), 0);
  ASSERT_EQ(chmod(open.c_str(), 0755), 0);
  auto w = TranscriptWriter::Open({open, "eta", 1 << 20}, MakeRedactor());
  EXPECT_EQ(w.status().code(), StatusCode::kFailedPrecondition);
}

TEST(TranscriptTest, PumpReadsAPipeToTheEnd) {
  testing::TempDir tmp;
  std::string dir = tmp.path() + "/t";
  auto w = TranscriptWriter::Open({dir, "theta", 1 << 20}, MakeRedactor());
  ASSERT_TRUE(w.ok());
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  std::string in = std::string("x ") + kSecret + "\nno newline at the end";
  ASSERT_EQ(write(p[1], in.data(), in.size()), static_cast<ssize_t>(in.size()));
  close(p[1]);
  ASSERT_TRUE((*w)->Pump(p[0]).ok());
  close(p[0]);
  EXPECT_EQ(ReadAll(TranscriptPath(dir, "theta")), "x [REDACTED:MY_API_SECRET]\nno newline at the end");
}

TEST(TranscriptTest, StripTerminalEscapes) {
  EXPECT_EQ(StripTerminalEscapes("\x1b[1;31mred\x1b[0m plain\r\n"), "red plain\n");
  EXPECT_EQ(StripTerminalEscapes("\x1b]0;title\x07text\x1b]2;t\x1b\\ more"), "text more");
  EXPECT_EQ(StripTerminalEscapes("\x1b(Bcharset\x1b=k\x08\ttab\n"), "charsetk\ttab\n");
  EXPECT_EQ(StripTerminalEscapes("unterminated \x1b[12"), "unterminated ");
}

}  // namespace
}  // namespace cloudcoop::audit

namespace cloudcoop::audit {
namespace {

TEST(TranscriptTest, FollowContinuesAcrossRotation) {
  testing::TempDir tmp;
  std::string dir = tmp.path() + "/t";
  auto w = TranscriptWriter::Open({dir, "iota", 4096}, MakeRedactor());
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Write("old line before following\n").ok());
  std::string seen;
  std::mutex mu;
  std::atomic<bool> done{false};
  std::thread follower([&] {
    Status st = FollowTranscript(
        dir, "iota",
        [&](std::string_view s) {
          std::lock_guard<std::mutex> l(mu);
          seen += s;
          if (seen.find("END\n") != std::string::npos) done = true;
        },
        [&] { return !done.load(); }, std::chrono::milliseconds(5));
    EXPECT_TRUE(st.ok()) << st.ToString();
  });
  // Give the follower time to open the file at its end (bounded; not a timing assertion).
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  std::string expected;
  for (int i = 0; i < 400; ++i) {
    std::string line = "follow " + std::to_string(i) + " " + std::string(30, 'f') + "\n";
    expected += line;
    ASSERT_TRUE((*w)->Write(line).ok());
    if (i % 20 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE((*w)->Write("END\n").ok());
  expected += "END\n";
  for (int i = 0; i < 1000 && !done; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  done = true;
  follower.join();
  EXPECT_GT((*w)->rotations(), 2u);
  std::lock_guard<std::mutex> l(mu);
  EXPECT_EQ(seen, expected);
}

}  // namespace
}  // namespace cloudcoop::audit
