#include "vodfs/read/planner.h"

#include <algorithm>

namespace vodfs::read {

std::vector<Span> PlanFirstRead(uint64_t first_block, uint64_t last_block, uint64_t listed_size, bool head,
                                bool iso_media, const HeadOptions& o) {
  const uint64_t bs = o.block_size;
  uint64_t end_block = last_block + 1;
  if (head) end_block += (o.prefetch + bs - 1) / bs;
  // No further than the size the API gave (when it is known).
  if (listed_size > 0) end_block = std::min(end_block, std::max(first_block + 1, (listed_size + bs - 1) / bs));
  const uint64_t blocks = end_block - first_block;
  const uint64_t bytes = blocks * bs;
  const uint64_t n = head ? std::clamp<uint64_t>(bytes / std::max<uint64_t>(o.part_min, 1), 1, o.parts) : 1;
  const uint64_t per = std::max(last_block - first_block + 1, (blocks + n - 1) / n);
  std::vector<Span> parts;
  for (uint64_t b = 0; b < blocks; b += per) parts.push_back({first_block + b, std::min(per, blocks - b)});
  if (head && iso_media && o.tail > 0 && listed_size > end_block * bs + 2 * o.tail) {
    const uint64_t from = (listed_size - o.tail) / bs;
    parts.push_back({from, (listed_size + bs - 1) / bs - from});
  }
  return parts;
}

ReadAheadStep PlanReadAhead(StreamSet& set, uint64_t offset, uint64_t size, bool waited, uint64_t object_size,
                            uint64_t cap, bool can_issue, const ReadAheadOptions& o) {
  ReadAheadStep step;
  const uint64_t end = offset + size;
  ++set.clock;
  Stream* s = nullptr;
  for (auto& st : set.streams) {
    if (offset + kBackTolerance >= st.next && offset <= st.next + std::max<uint64_t>(st.window, kBackTolerance)) {
      s = &st;
      break;
    }
  }
  if (!s) {
    // A new cursor (a seek): it has to prove sequential before read-ahead.
    if (set.streams.size() >= StreamSet::kMax) {
      auto lru = std::min_element(set.streams.begin(), set.streams.end(),
                                  [](const Stream& a, const Stream& b) { return a.last_use < b.last_use; });
      if (lru->window) {
        step.reset = true;
        step.windows_opened = -1;
      }
      *lru = Stream{};
      s = &*lru;
    } else {
      set.streams.emplace_back();
      s = &set.streams.back();
    }
    s->start = offset;
    s->next = end;
    s->last_use = set.clock;
    return step;
  }
  s->next = std::max(s->next, end);
  s->last_use = set.clock;
  s->waited = s->waited || waited;
  if (s->window == 0 && s->next - s->start < o.trigger) return step;
  const uint64_t bs = o.block_size;
  cap = std::max(bs, std::min(o.max, cap));
  // A smaller share (more cursors with windows) holds at once; what is
  // already ahead stays ahead.
  if (s->window > cap) s->window = cap;
  const uint64_t ahead = s->ahead_until > s->next ? s->ahead_until - s->next : 0;
  if (s->window == 0) {
    step.windows_opened = 1;
    s->window = std::max(o.initial, bs);
  } else if (ahead >= s->window / 2) {
    return step;
  } else if (can_issue && s->waited) {
    s->window *= 2;
  }
  s->window = std::min(s->window, cap);
  step.window = s->window;
  if (!can_issue) return step;
  s->waited = false;
  step.from = std::max(s->next, s->ahead_until);
  step.to = std::min(object_size, s->next + s->window);
  if (step.from < step.to) s->ahead_until = step.to;
  return step;
}

void NoteWaited(StreamSet& set, uint64_t offset, uint64_t end) {
  for (auto& st : set.streams) {
    if (offset + kBackTolerance >= st.start && end <= st.next) {
      st.waited = true;
      return;
    }
  }
}

std::vector<Span> SplitWindow(uint64_t from, uint64_t to, uint64_t window, const ReadAheadOptions& o) {
  std::vector<Span> out;
  if (from >= to) return out;
  const uint64_t bs = o.block_size;
  const uint64_t part = std::clamp<uint64_t>(window / std::max<uint64_t>(1, o.max_parallel),
                                             std::max<uint64_t>(4 * bs, 256 << 10), 16ULL << 20);
  const uint64_t part_blocks = std::max<uint64_t>(1, part / bs);
  const uint64_t first = from / bs, last = (to - 1) / bs;
  for (uint64_t b = first; b <= last; b += part_blocks) out.push_back({b, std::min(part_blocks, last - b + 1)});
  return out;
}

}  // namespace vodfs::read
