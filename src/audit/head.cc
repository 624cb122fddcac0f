#include "audit/head.h"

#include <cstdio>

#include "audit/sha256.h"
#include "core/strings.h"

namespace cloudcoop::audit {
namespace {

std::string Payload(const Head& h) {
  return "cloudcoop-audit-head v1 gen=" + std::to_string(h.gen) + " seq=" + std::to_string(h.seq) +
         " hash=" + h.hash + " segment=" + h.segment + " end=" + std::to_string(h.end);
}

bool ParseField(std::string_view word, std::string_view key, std::string* out) {
  if (!StartsWith(word, key) || word.size() <= key.size() || word[key.size()] != '=') return false;
  *out = std::string(word.substr(key.size() + 1));
  return true;
}

bool ParseU64(const std::string& text, uint64_t* out) {
  auto v = ParseInt64(text);
  if (!v || *v < 0 || std::to_string(*v) != text) return false;
  *out = static_cast<uint64_t>(*v);
  return true;
}

}  // namespace

std::string FormatHeadSlot(const Head& head) {
  std::string text = Payload(head);
  text += " sum=" + Sha256Hex(text);
  text.resize(kHeadSlotSize - 1, ' ');
  text.push_back('\n');
  return text;
}

SlotState ParseHeadSlot(std::string_view slot, Head* out) {
  if (slot.size() != kHeadSlotSize) return SlotState::kCorrupt;
  if (slot.find_first_not_of('\0') == std::string_view::npos) return SlotState::kEmpty;
  std::vector<std::string> words = Split(Trim(slot), ' ');
  if (words.size() != 8 || words[0] != "cloudcoop-audit-head" || words[1] != "v1") return SlotState::kCorrupt;
  Head h;
  std::string gen, seq, end, sum;
  if (!ParseField(words[2], "gen", &gen) || !ParseField(words[3], "seq", &seq) ||
      !ParseField(words[4], "hash", &h.hash) || !ParseField(words[5], "segment", &h.segment) ||
      !ParseField(words[6], "end", &end) || !ParseField(words[7], "sum", &sum)) {
    return SlotState::kCorrupt;
  }
  if (!ParseU64(gen, &h.gen) || !ParseU64(seq, &h.seq) || !ParseU64(end, &h.end) || !IsDigestHex(h.hash) ||
      !ParseSegmentName(h.segment)) {
    return SlotState::kCorrupt;
  }
  // The exact bytes must be what FormatHeadSlot writes: this also checks the sum and the padding.
  if (FormatHeadSlot(h) != slot) return SlotState::kCorrupt;
  *out = h;
  return SlotState::kValid;
}

HeadFile ParseHeadFile(std::string_view content) {
  HeadFile f;
  if (content.size() != kHeadFileSize) {
    f.wrong_size = true;
    f.slots[0] = f.slots[1] = SlotState::kCorrupt;
    return f;
  }
  for (int i = 0; i < 2; ++i) {
    f.slots[i] = ParseHeadSlot(content.substr(i * kHeadSlotSize, kHeadSlotSize), &f.slot_heads[i]);
    // A valid slot must sit where its gen puts it.
    if (f.slots[i] == SlotState::kValid && f.slot_heads[i].gen % 2 != static_cast<uint64_t>(i)) {
      f.slots[i] = SlotState::kCorrupt;
    }
  }
  for (int i = 0; i < 2; ++i) {
    if (f.slots[i] == SlotState::kValid && (!f.current || f.slot_heads[i].gen > f.current->gen)) {
      f.current = f.slot_heads[i];
    }
  }
  return f;
}

std::string SegmentName(uint64_t first_seq) {
  char buf[64];
  (void)std::snprintf(buf, sizeof buf, "seg-%020llu.jsonl", static_cast<unsigned long long>(first_seq));
  return buf;
}

std::optional<uint64_t> ParseSegmentName(std::string_view name) {
  if (name.size() != 30 || !StartsWith(name, "seg-") || !EndsWith(name, ".jsonl")) return std::nullopt;
  uint64_t v = 0;
  for (char c : name.substr(4, 20)) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v == 0 || SegmentName(v) != name) return std::nullopt;
  return v;
}

}  // namespace cloudcoop::audit
