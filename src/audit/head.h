// The chain head, kept outside the segment files: the sequence number and hash of the last
// anchored record, and where it ends (segment file and byte offset). Cutting records off the end
// of a segment makes the segment disagree with the head.
//
// The head file is two fixed-size slots written in turn (slot = gen % 2), each a line of text with
// its own SHA-256, so an interrupted write of one slot leaves the other intact:
//   cloudcoop-audit-head v1 gen=7 seq=42 hash=<64 hex> segment=seg-00000000000000000001.jsonl end=9120 sum=<64 hex>
// padded with spaces to kHeadSlotSize - 1 bytes and a newline. An unused slot is all zero bytes.
#ifndef CLOUDCOOP_AUDIT_HEAD_H_
#define CLOUDCOOP_AUDIT_HEAD_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "audit/record.h"

namespace cloudcoop::audit {

inline constexpr size_t kHeadSlotSize = 512;
inline constexpr size_t kHeadFileSize = 2 * kHeadSlotSize;
inline constexpr std::string_view kHeadFileName = "head";

struct Head {
  uint64_t gen = 0;      // update counter; the slot with the higher gen is current
  uint64_t seq = 0;      // last anchored record (0: none yet)
  std::string hash = std::string(kGenesisHash);
  std::string segment;   // the segment the next record goes to
  uint64_t end = 0;      // bytes of `segment` up to and including record `seq` (0: it is in an older one)
  bool operator==(const Head&) const = default;
};

// Exactly kHeadSlotSize bytes.
std::string FormatHeadSlot(const Head& head);

enum class SlotState { kEmpty, kValid, kCorrupt };
SlotState ParseHeadSlot(std::string_view slot, Head* out);

struct HeadFile {
  SlotState slots[2] = {SlotState::kEmpty, SlotState::kEmpty};
  Head slot_heads[2];
  std::optional<Head> current;  // the valid slot with the higher gen
  bool wrong_size = false;
};
HeadFile ParseHeadFile(std::string_view content);

// Segment files are named after the sequence number of their first record.
std::string SegmentName(uint64_t first_seq);
// The first sequence number from a segment name, or nullopt when the name is not a segment's.
std::optional<uint64_t> ParseSegmentName(std::string_view name);

}  // namespace cloudcoop::audit

#endif  // CLOUDCOOP_AUDIT_HEAD_H_
