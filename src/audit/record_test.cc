// The canonical record form and the head file format.
#include "audit/record.h"

#include <gtest/gtest.h>

#include "audit/head.h"
#include "audit/sha256.h"

namespace cloudcoop::audit {
namespace {

Record Sample() {
  Record r;
  r.seq = 7;
  r.time = "2026-05-01T12:00:00.123Z";
  r.host = "vm-1";
  r.agent = "web";
  r.actor = {{"kind", "operator"}, {"uid", 0}, {"user", "root"}};
  r.type = RecordType::kExec;
  r.fields = {{"argv", std::vector<std::string>{"ls", "-l", "a\"b\\c\n\x01"}},
              {"pid", 4242},
              {"cwd", "/workspace"},
              {"nested", Fields{{"z", true}, {"a", FieldValue()}}}};
  r.prev = std::string(kGenesisHash);
  return r;
}

TEST(RecordTest, CanonicalFormIsFixed) {
  EXPECT_EQ(SerializeRecord(Sample()),
            R"({"v":1,"seq":7,"time":"2026-05-01T12:00:00.123Z","host":"vm-1","agent":"web",)"
            R"("actor":{"kind":"operator","uid":0,"user":"root"},"type":"exec",)"
            R"("fields":{"argv":["ls","-l","a\"b\\c\n\u0001"],"cwd":"/workspace","nested":{"a":null,"z":true},"pid":4242},)"
            R"("prev":"0000000000000000000000000000000000000000000000000000000000000000"})");
}

TEST(RecordTest, RoundTrip) {
  Record r = Sample();
  std::string line = SerializeRecord(r);
  auto parsed = ParseRecord(line);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(SerializeRecord(*parsed), line);
  EXPECT_EQ(parsed->agent, "web");
  EXPECT_EQ(parsed->fields.at("pid").as_int(), 4242);
  r.agent.clear();
  EXPECT_EQ(SerializeRecord(r).find("\"agent\""), std::string::npos) << "no agent: the key is left out";
  EXPECT_TRUE(ParseRecord(SerializeRecord(r)).ok());
}

TEST(RecordTest, InvalidUtf8IsReplacedWhenBuilt) {
  Record r = Sample();
  r.fields = {{"argv", std::vector<std::string>{"caf\xc3\xa9", "bad\xff", "\xed\xa0\x80"}}};
  std::string line = SerializeRecord(r);
  EXPECT_NE(line.find("caf\xc3\xa9"), std::string::npos);
  EXPECT_NE(line.find("bad\xef\xbf\xbd"), std::string::npos);
  EXPECT_TRUE(ParseRecord(line).ok());
}

TEST(RecordTest, NonCanonicalLinesAreRejected) {
  std::string line = SerializeRecord(Sample());
  auto rejects = [](const std::string& text) { return !ParseRecord(text).ok(); };
  EXPECT_TRUE(rejects(line + " "));
  EXPECT_TRUE(rejects(" " + line));
  std::string spaced = line;
  spaced.replace(spaced.find("\"seq\":7"), 7, "\"seq\": 7");
  EXPECT_TRUE(rejects(spaced));
  std::string reordered = line;
  reordered.replace(reordered.find("\"cwd\":\"/workspace\","), 19, "");
  reordered.replace(reordered.find("\"pid\":4242"), 10, "\"pid\":4242,\"cwd\":\"/workspace\"");
  EXPECT_TRUE(rejects(reordered)) << "keys out of order";
  std::string dup = line;
  dup.replace(dup.find("\"pid\":4242"), 10, "\"pid\":1,\"pid\":4242");
  EXPECT_TRUE(rejects(dup)) << "a duplicate key would let two readers see different values";
  std::string escaped = line;
  escaped.replace(escaped.find("/workspace"), 10, "\\/workspace");
  EXPECT_TRUE(rejects(escaped)) << "needless escape";
  std::string flt = line;
  flt.replace(flt.find("4242"), 4, "4242.0");
  EXPECT_TRUE(rejects(flt));
  std::string type = line;
  type.replace(type.find("\"exec\""), 6, "\"shell\"");
  EXPECT_FALSE(ParseRecord(type).ok());
  EXPECT_NE(ParseRecord(type).status().message().find("unknown record type \"shell\""), std::string::npos);
  EXPECT_TRUE(rejects(line.substr(0, line.size() - 1)));
}

TEST(RecordTest, NewerVersionIsNamed) {
  std::string line = SerializeRecord(Sample());
  line.replace(0, 6, "{\"v\":2");
  auto r = ParseRecord(line);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("record format version 2 is not supported"), std::string::npos);
}

TEST(RecordTest, TypeNames) {
  for (auto name : RecordTypeNames()) {
    auto t = ParseRecordType(name);
    ASSERT_TRUE(t.has_value()) << name;
    EXPECT_EQ(RecordTypeName(*t), name);
  }
  EXPECT_FALSE(ParseRecordType("EXEC").has_value());
}

TEST(HeadTest, SlotRoundTripAndDamage) {
  Head h{3, 42, Sha256Hex("x"), SegmentName(40), 1234};
  std::string slot = FormatHeadSlot(h);
  ASSERT_EQ(slot.size(), kHeadSlotSize);
  Head parsed;
  ASSERT_EQ(ParseHeadSlot(slot, &parsed), SlotState::kValid);
  EXPECT_EQ(parsed, h);
  EXPECT_EQ(ParseHeadSlot(std::string(kHeadSlotSize, '\0'), &parsed), SlotState::kEmpty);
  for (size_t i = 0; i < slot.size(); ++i) {
    std::string bad = slot;
    bad[i] ^= 0x01;
    ASSERT_EQ(ParseHeadSlot(bad, &parsed), SlotState::kCorrupt) << "byte " << i;
  }
}

TEST(HeadTest, FilePicksTheNewestValidSlot) {
  Head a{4, 10, Sha256Hex("a"), SegmentName(1), 100};
  Head b{5, 11, Sha256Hex("b"), SegmentName(1), 200};
  std::string file = FormatHeadSlot(a) + FormatHeadSlot(b);
  HeadFile f = ParseHeadFile(file);
  ASSERT_TRUE(f.current.has_value());
  EXPECT_EQ(f.current->seq, 11u);
  std::string torn = file;
  torn[kHeadSlotSize + 30] ^= 0x20;  // the newer slot damaged: the older one is still there
  f = ParseHeadFile(torn);
  ASSERT_TRUE(f.current.has_value());
  EXPECT_EQ(f.current->seq, 10u);
  EXPECT_EQ(f.slots[1], SlotState::kCorrupt);
  EXPECT_TRUE(ParseHeadFile(file.substr(1)).wrong_size);
  std::string swapped = FormatHeadSlot(b) + FormatHeadSlot(a);
  f = ParseHeadFile(swapped);
  EXPECT_EQ(f.slots[0], SlotState::kCorrupt) << "a slot must sit where its gen puts it";
}

TEST(HeadTest, SegmentNames) {
  EXPECT_EQ(SegmentName(1), "seg-00000000000000000001.jsonl");
  EXPECT_EQ(ParseSegmentName("seg-00000000000000000042.jsonl"), 42u);
  EXPECT_FALSE(ParseSegmentName("seg-0000000000000000004x.jsonl"));
  EXPECT_FALSE(ParseSegmentName("seg-00000000000000000000.jsonl"));
  EXPECT_FALSE(ParseSegmentName("seg-42.jsonl"));
  EXPECT_FALSE(ParseSegmentName("head"));
}

}  // namespace
}  // namespace cloudcoop::audit
