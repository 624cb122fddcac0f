// Query filters, time arguments, the incremental reader, the text format and the Cloud Logging export.
#include "audit/query.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "audit/export.h"
#include "audit/sha256.h"
#include "audit/test_helpers.h"
#include "testing/test_util.h"

namespace cloudcoop::audit {
namespace {

using testing::ExecEvent;
using testing::MustOpen;
using testing::MustVerify;

SystemTime At(const std::string& text) {
  SystemTime t;
  EXPECT_TRUE(ParseRfc3339(text, &t)) << text;
  return t;
}

class QueryTest : public ::testing::Test {
 protected:
  std::string Dir() { return dir_.Sub("audit"); }
  // Records at 12:00, 12:10, ... with alternating agents and types.
  void MakeLog() {
    LoggerOptions o;
    o.dir = Dir();
    o.host = "h";
    o.clock = &clock_;
    o.segment_max_bytes = 1024;
    auto logger = MustOpen(o);
    for (int i = 0; i < 6; ++i) {
      Event e = ExecEvent(i, i % 2 ? "api" : "web");
      if (i % 3 == 2) {
        e.type = RecordType::kControl;
        e.agent.clear();
        e.fields = {{"action", "config set"}, {"args", std::vector<std::string>{"vm.name", "Needle-" + std::to_string(i)}}};
      }
      ASSERT_TRUE(logger->Append(e).ok());
      clock_.Advance(std::chrono::minutes(10));
    }
  }
  std::vector<uint64_t> Query(const QueryFilter& f) {
    std::vector<uint64_t> seqs;
    LogReader reader(Dir());
    EXPECT_TRUE(reader
                    .ReadNew(
                        [&](const Record& r, std::string_view line) {
                          if (MatchesFilter(f, r, line)) seqs.push_back(r.seq);
                        },
                        nullptr)
                    .ok());
    return seqs;
  }
  FakeClock clock_{At("2026-05-01T12:00:00Z")};
  cloudcoop::testing::TempDir dir_;
};

TEST_F(QueryTest, Filters) {
  MakeLog();
  EXPECT_EQ(Query({}), (std::vector<uint64_t>{1, 2, 3, 4, 5, 6}));
  QueryFilter f;
  f.agent = "web";
  EXPECT_EQ(Query(f), (std::vector<uint64_t>{1, 5}));
  f = {};
  f.type = RecordType::kControl;
  EXPECT_EQ(Query(f), (std::vector<uint64_t>{3, 6}));
  f = {};
  f.since = At("2026-05-01T12:10:00Z");
  f.until = At("2026-05-01T12:30:00Z");
  EXPECT_EQ(Query(f), (std::vector<uint64_t>{2, 3}));
  f = {};
  f.grep = "needle-5";
  EXPECT_EQ(Query(f), (std::vector<uint64_t>{6})) << "grep is case-insensitive";
  f.type = RecordType::kExec;
  EXPECT_TRUE(Query(f).empty()) << "filters combine";
}

TEST_F(QueryTest, ReaderDeliversOnlyNewCompleteRecordsAcrossRotation) {
  MakeLog();
  LogReader reader(Dir());
  std::vector<uint64_t> seen;
  auto collect = [&](const Record& r, std::string_view) { seen.push_back(r.seq); };
  ASSERT_TRUE(reader.ReadNew(collect, nullptr).ok());
  EXPECT_EQ(seen.size(), 6u);
  ASSERT_TRUE(reader.ReadNew(collect, nullptr).ok());
  EXPECT_EQ(seen.size(), 6u) << "nothing new";
  // More records, crossing into new segments.
  LoggerOptions o;
  o.dir = Dir();
  o.segment_max_bytes = 1024;
  auto logger = MustOpen(o);
  for (int i = 10; i < 16; ++i) ASSERT_TRUE(logger->Append(ExecEvent(i)).ok());
  ASSERT_TRUE(reader.ReadNew(collect, nullptr).ok());
  EXPECT_EQ(seen, (std::vector<uint64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}));
}

TEST_F(QueryTest, ReaderContinuesWhenRetentionRemovesItsSegment) {
  LoggerOptions o;
  o.dir = Dir();
  o.segment_max_bytes = 700;
  o.retention_segments = 2;
  auto logger = MustOpen(o);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(logger->Append(ExecEvent(i)).ok());
  LogReader reader(Dir());
  std::vector<uint64_t> seen;
  auto collect = [&](const Record& r, std::string_view) { seen.push_back(r.seq); };
  ASSERT_TRUE(reader.ReadNew(collect, nullptr).ok());
  ASSERT_EQ(seen.size(), 3u);
  for (int i = 3; i < 20; ++i) ASSERT_TRUE(logger->Append(ExecEvent(i)).ok());
  ASSERT_TRUE(reader.ReadNew(collect, nullptr).ok());
  ASSERT_GT(seen.size(), 3u);
  for (size_t k = 1; k < seen.size(); ++k) EXPECT_LT(seen[k - 1], seen[k]) << "in order, none twice";
  EXPECT_EQ(seen.back(), MustVerify(Dir()).last_seq);
}

TEST_F(QueryTest, ReaderSkipsPartialLine) {
  MakeLog();
  std::string seg = testing::Segments(Dir()).back();
  ASSERT_TRUE(WriteFileAtomic(seg, *ReadFile(seg) + "{\"v\":1,\"seq\":7").ok());
  LogReader reader(Dir());
  size_t n = 0, bad = 0;
  ASSERT_TRUE(reader.ReadNew([&](const Record&, std::string_view) { ++n; }, [&](auto&&...) { ++bad; }).ok());
  EXPECT_EQ(n, 6u);
  EXPECT_EQ(bad, 0u) << "an incomplete line is waited for, not reported";
}

TEST(QueryTimeTest, ParseTimeArg) {
  SystemTime now = At("2026-05-01T12:00:00Z");
  EXPECT_EQ(*ParseTimeArg("10m", now), At("2026-05-01T11:50:00Z"));
  EXPECT_EQ(*ParseTimeArg("2h", now), At("2026-05-01T10:00:00Z"));
  EXPECT_EQ(*ParseTimeArg("1d", now), At("2026-04-30T12:00:00Z"));
  EXPECT_EQ(*ParseTimeArg("1w", now), At("2026-04-24T12:00:00Z"));
  EXPECT_EQ(*ParseTimeArg("90s", now), At("2026-05-01T11:58:30Z"));
  EXPECT_EQ(*ParseTimeArg("2026-05-01T14:00:00+02:00", now), now);
  for (const char* bad : {"", "10", "m", "-5m", "10x", "yesterday", "2026-05-01"}) {
    auto r = ParseTimeArg(bad, now);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.status().message().find("neither RFC 3339 nor an age"), std::string::npos);
  }
}

TEST(QueryFormatTest, TextLine) {
  Record r;
  r.seq = 3;
  r.time = "2026-05-01T12:00:00.000Z";
  r.host = "h";
  r.actor = {{"kind", "operator"}, {"uid", 0}, {"user", "root"}, {"sudo_user", "alice"}};
  r.type = RecordType::kControl;
  r.fields = {{"action", "config set"}, {"args", std::vector<std::string>{"vm.name", "x"}}, {"phase", "start"}};
  EXPECT_EQ(FormatRecordText(r),
            "2026-05-01T12:00:00.000Z  #3  control    root (sudo from alice)  \"config set\"  args=[\"vm.name\",\"x\"]  phase=start");
  EXPECT_EQ(FormatActor({{"kind", "system"}, {"component", "audit-writer"}}), "system:audit-writer");
}

TEST(ExportTest, CloudLoggingEntry) {
  Record r;
  r.seq = 9;
  r.time = "2026-05-01T12:00:00.000Z";
  r.host = "agents-vm";
  r.agent = "web";
  r.actor = {{"kind", "agent"}, {"name", "web"}};
  r.type = RecordType::kDenial;
  r.fields = {{"syscall", "ptrace"}};
  r.prev = std::string(kGenesisHash);
  std::string line = SerializeRecord(r);
  auto j = nlohmann::json::parse(ToCloudLoggingEntry(r, line, {"projects/p/logs/cloudcoop-audit"}));
  EXPECT_EQ(j["logName"], "projects/p/logs/cloudcoop-audit");
  EXPECT_EQ(j["resource"]["type"], "global");
  EXPECT_EQ(j["timestamp"], r.time);
  EXPECT_EQ(j["severity"], "WARNING");
  EXPECT_EQ(j["labels"]["cloudcoop/agent"], "web");
  EXPECT_EQ(j["labels"]["cloudcoop/seq"], "9");
  EXPECT_EQ(j["jsonPayload"]["fields"]["syscall"], "ptrace");
  EXPECT_EQ(j["jsonPayload"]["hash"], Sha256Hex(line));
  EXPECT_EQ(j["insertId"], "agents-vm-9-" + Sha256Hex(line).substr(0, 16));
  auto no_name = nlohmann::json::parse(ToCloudLoggingEntry(r, line, {}));
  EXPECT_FALSE(no_name.contains("logName"));
  r.type = RecordType::kControl;
  EXPECT_EQ(SeverityFor(r), "NOTICE");
  r.type = RecordType::kLifecycle;
  r.fields = {{"event", "oom-kill"}};
  EXPECT_EQ(SeverityFor(r), "WARNING");
}

}  // namespace
}  // namespace cloudcoop::audit
