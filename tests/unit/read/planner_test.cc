#include "vodfs/read/planner.h"

#include <gtest/gtest.h>

namespace vodfs::read {
namespace {

constexpr uint64_t kBs = 64 << 10;
constexpr uint64_t kMiB = 1 << 20;

TEST(PlanFirstReadTest, TheHeadGoesOutInPartsAndAnMp4sTailWithIt) {
  HeadOptions o;
  // The first 128 KiB of a 100 MiB MP4: 1.5 MiB more of head in 8 parts,
  // the first holding the read's own blocks, and the last 128 KiB.
  auto parts = PlanFirstRead(0, 1, 100 * kMiB, true, true, o);
  ASSERT_GE(parts.size(), 3u);
  ASSERT_LE(parts.size(), o.parts + 1);
  EXPECT_EQ(parts[0].first, 0u);
  EXPECT_GE(parts[0].count, 2u);  // the read's own blocks come with the first answer
  uint64_t blocks = 0;
  // The head's parts (all but the MP4's tail) are contiguous, and all but
  // the last of them at least part_min.
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    if (i > 0) {
      EXPECT_EQ(parts[i].first, parts[i - 1].end());
    }
    if (i + 2 < parts.size()) {
      EXPECT_GE(parts[i].count * kBs, o.part_min);
    }
    blocks += parts[i].count;
  }
  EXPECT_EQ(blocks, 2 + (o.prefetch + kBs - 1) / kBs);
  EXPECT_EQ(parts.back(), (Span{(100 * kMiB - o.tail) / kBs, o.tail / kBs}));
  // Not an MP4: no tail.
  EXPECT_EQ(PlanFirstRead(0, 1, 100 * kMiB, true, false, o).size(), parts.size() - 1);
}

TEST(PlanFirstReadTest, ElsewhereOrWithoutReadAheadOnlyTheReadAndNeverPastTheListedSize) {
  HeadOptions o;
  EXPECT_EQ(PlanFirstRead(10, 12, 100 * kMiB, false, true, o), (std::vector<Span>{{10, 3}}));
  // A small file: the head stops at its end, in fewer parts.
  auto small = PlanFirstRead(0, 0, 300 << 10, true, true, o);
  uint64_t blocks = 0;
  for (const auto& p : small) blocks += p.count;
  EXPECT_EQ(blocks, 5u);  // 300 KiB = 4.7 blocks
  EXPECT_LE(small.size(), 2u);
  // Unknown size: the plan as asked.
  EXPECT_EQ(PlanFirstRead(3, 3, 0, false, false, o), (std::vector<Span>{{3, 1}}));
}

ReadAheadOptions Opts() {
  ReadAheadOptions o;
  o.block_size = kBs;
  o.initial = kMiB;
  o.max = 64 * kMiB;
  o.trigger = 4 * kMiB;
  return o;
}

// Reads [0, end) in 1 MiB reads; returns the last step.
ReadAheadStep ReadTo(StreamSet& s, uint64_t from, uint64_t end, bool waited, uint64_t cap = 1ULL << 40) {
  ReadAheadStep step;
  for (uint64_t off = from; off < end; off += kMiB) {
    ReadAheadStep st = PlanReadAhead(s, off, kMiB, waited, 1ULL << 40, cap, true, Opts());
    if (st.from < st.to || st.windows_opened) step = st;
  }
  return step;
}

TEST(PlanReadAheadTest, AWindowOpensOnlyOnceACursorProvesSequential) {
  StreamSet s;
  const auto o = Opts();
  auto first = PlanReadAhead(s, 0, kMiB, true, 1ULL << 40, 1ULL << 40, true, o);
  EXPECT_GE(first.from, first.to);  // a new cursor
  for (uint64_t off = kMiB; off < 3 * kMiB; off += kMiB) {
    auto st = PlanReadAhead(s, off, kMiB, true, 1ULL << 40, 1ULL << 40, true, o);
    EXPECT_GE(st.from, st.to) << off;
  }
  auto opened = PlanReadAhead(s, 3 * kMiB, kMiB, true, 1ULL << 40, 1ULL << 40, true, o);
  EXPECT_EQ(opened.windows_opened, 1);
  EXPECT_EQ(opened.from, 4 * kMiB);
  EXPECT_EQ(opened.to, 5 * kMiB);  // the initial window after the reader
}

TEST(PlanReadAheadTest, TheWindowGrowsOnlyWhileTheReaderWaits) {
  StreamSet waiting, fed;
  // A reader that keeps waiting for its bytes doubles the window at every
  // refill, up to the cap...
  ReadTo(waiting, 0, 200 * kMiB, true, 32 * kMiB);
  EXPECT_EQ(waiting.streams[0].window, 32 * kMiB);
  // ...one the link keeps ahead of stays at the window it has.
  ReadTo(fed, 0, 200 * kMiB, false, 32 * kMiB);
  EXPECT_EQ(fed.streams[0].window, kMiB);
  // The cap also holds for a window grown earlier.
  ReadTo(waiting, 200 * kMiB, 220 * kMiB, true, 8 * kMiB);
  EXPECT_EQ(waiting.streams[0].window, 8 * kMiB);
}

TEST(PlanReadAheadTest, RefillsComeWhenLessThanHalfAWindowIsAhead) {
  StreamSet s;
  ReadTo(s, 0, 5 * kMiB, true);
  Stream& st = s.streams[0];
  const uint64_t window = st.window;
  const uint64_t until = st.ahead_until;
  // Reading within the first half of what is ahead: nothing more.
  auto none = PlanReadAhead(s, st.next, kBs, false, 1ULL << 40, 1ULL << 40, true, Opts());
  EXPECT_GE(none.from, none.to);
  EXPECT_EQ(s.streams[0].ahead_until, until);
  EXPECT_EQ(s.streams[0].window, window);
}

TEST(PlanReadAheadTest, BusyFetchersIssueNothingAndTheCursorKnowsIt) {
  StreamSet s;
  ReadTo(s, 0, 6 * kMiB, true);
  const uint64_t until = s.streams[0].ahead_until;
  const uint64_t next = s.streams[0].next;
  auto busy = PlanReadAhead(s, next, 2 * kMiB, true, 1ULL << 40, 1ULL << 40, false, Opts());
  EXPECT_GE(busy.from, busy.to);
  EXPECT_EQ(s.streams[0].ahead_until, until);
  // Once free, what was not issued is.
  auto free = PlanReadAhead(s, next + 2 * kMiB, kMiB, false, 1ULL << 40, 1ULL << 40, true, Opts());
  EXPECT_EQ(free.from, std::max(until, next + 3 * kMiB));
  EXPECT_GT(free.to, free.from);
}

TEST(PlanReadAheadTest, SeeksMakeNewCursorsAndTheOldestGivesWay) {
  StreamSet s;
  ReadTo(s, 0, 6 * kMiB, true);  // a windowed cursor at the head
  for (uint64_t k = 1; k <= 3; ++k) PlanReadAhead(s, k * 1000 * kMiB, kMiB, false, 1ULL << 40, 1ULL << 40, true, Opts());
  EXPECT_EQ(s.streams.size(), StreamSet::kMax);
  // A fifth region replaces the least recently used cursor: the head's.
  auto step = PlanReadAhead(s, 5000 * kMiB, kMiB, false, 1ULL << 40, 1ULL << 40, true, Opts());
  EXPECT_TRUE(step.reset);
  EXPECT_EQ(step.windows_opened, -1);
  EXPECT_EQ(s.streams.size(), StreamSet::kMax);
}

TEST(PlanReadAheadTest, NothingIsPlannedPastTheEndOfTheObject) {
  StreamSet s;
  ReadAheadStep last;
  for (uint64_t off = 0; off < 6 * kMiB; off += kMiB) {
    auto st = PlanReadAhead(s, off, kMiB, true, 6 * kMiB + 10, 1ULL << 40, true, Opts());
    if (st.from < st.to) last = st;
  }
  EXPECT_EQ(last.to, 6 * kMiB + 10);
}

TEST(NoteWaitedTest, MarksTheCursorTheReadContinued) {
  StreamSet s;
  ReadTo(s, 0, 6 * kMiB, false);
  PlanReadAhead(s, 900 * kMiB, kMiB, false, 1ULL << 40, 1ULL << 40, true, Opts());
  NoteWaited(s, 5 * kMiB, 6 * kMiB);
  EXPECT_TRUE(s.streams[0].waited);
  EXPECT_FALSE(s.streams[1].waited);
}

TEST(SplitWindowTest, PartsAreWholeBlocksOfAFewHundredKiBToSixteenMiB) {
  const auto o = Opts();
  auto small = SplitWindow(0, kMiB, kMiB, o);
  ASSERT_EQ(small.size(), 4u);  // 256 KiB each: new connections start slow
  for (const auto& p : small) EXPECT_EQ(p.count, 4u);
  auto big = SplitWindow(10 * kMiB, 74 * kMiB, 64 * kMiB, o);
  ASSERT_EQ(big.size(), 8u);
  EXPECT_EQ(big[0].first, 10 * kMiB / kBs);
  for (size_t i = 1; i < big.size(); ++i) EXPECT_EQ(big[i].first, big[i - 1].end());
  EXPECT_EQ(big.back().end(), 74 * kMiB / kBs);
  // An unaligned end still covers its last byte.
  auto odd = SplitWindow(0, kMiB + 1, kMiB, o);
  EXPECT_EQ(odd.back().end(), kMiB / kBs + 1);
  EXPECT_TRUE(SplitWindow(5, 5, kMiB, o).empty());
}

}  // namespace
}  // namespace vodfs::read
