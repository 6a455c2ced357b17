// What to fetch, decided without threads, sockets or caches: the parts of
// the first read of a file, and each sequential reader's read-ahead. Pure
// functions of their inputs (and of the stream state they update), so that
// every decision is unit-tested on its own.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

namespace vodfs::read {

// Blocks [first, first + count).
struct Span {
  uint64_t first = 0;
  uint64_t count = 0;
  uint64_t end() const { return first + count; }
  bool operator==(const Span& o) const { return first == o.first && count == o.count; }
};

struct HeadOptions {
  uint64_t block_size = 64 << 10;
  // The first read at the head of a file also fetches this much after it
  // (media is read from the start: a demuxer's header and first frames),
  // in up to `parts` requests of at least `part_min` bytes each: on a cold
  // link each connection starts slow (TCP slow start), so seven parts of a
  // 1.6 MiB head arrive about three round trips sooner than one request.
  uint64_t prefetch = 3 << 19;  // 1.5 MiB
  uint64_t parts = 8;
  uint64_t part_min = 192 << 10;
  // The first read at the head of an MP4 also fetches its last `tail`
  // bytes, where a trailing index would be: a demuxer asks for it right
  // after the head.
  uint64_t tail = 128 << 10;
};

// The requests of the first read of a file, which also learns its version:
// the first part holds blocks [first_block, last_block] of the read; at the
// head of a file (`head`: first_block is 0 and read-ahead is on) the rest
// of the head window follows in more parts, and the tail of an MP4
// (`iso_media`) in one more. `listed_size` is what the API said the object
// holds (the origin's answer wins if it differs); 0 if unknown.
std::vector<Span> PlanFirstRead(uint64_t first_block, uint64_t last_block, uint64_t listed_size, bool head,
                                bool iso_media, const HeadOptions& o);

struct ReadAheadOptions {
  uint64_t block_size = 64 << 10;
  // The first window, and the largest one.
  uint64_t initial = 1 << 20;
  uint64_t max = 32 << 20;
  // A cursor opens a window once it has read this much sequentially (the
  // kernel's own read-ahead serves shorter bursts: a demuxer reading a
  // header or an index).
  uint64_t trigger = 4 << 20;
  // Parallel requests of one window.
  uint64_t max_parallel = 8;
};

// One cursor of a file's readers.
struct Stream {
  uint64_t start = 0;        // where the cursor began
  uint64_t next = 0;         // where the next sequential read would start
  uint64_t window = 0;       // read-ahead window (0: not proven sequential yet)
  uint64_t ahead_until = 0;  // read-ahead issued up to here
  uint64_t last_use = 0;
  bool waited = false;  // a read of it waited for bytes since the last refill
};

// The cursors of one open file: a demuxer reading the head, the tail (an
// index) and the head again keeps one per region.
struct StreamSet {
  static constexpr size_t kMax = 4;
  std::vector<Stream> streams;
  uint64_t clock = 0;
};

struct ReadAheadStep {
  // Bytes [from, to) to fetch ahead (none when from >= to).
  uint64_t from = 0, to = 0;
  uint64_t window = 0;
  int windows_opened = 0;  // streams that gained a window (+1) or lost one (-1)
  bool reset = false;      // a windowed stream was dropped for a new cursor
};

// Records a read of [offset, offset + size) of an object of `object_size`
// that `waited` (or not) for its bytes, and says what to fetch ahead of it.
// `cap` bounds the window (the memory share of one stream). When
// `can_issue` is false (the fetchers are busy) nothing is planned ahead
// and the cursor does not count it as issued.
//
// The window opens at `initial` once the cursor has read `trigger` bytes
// in sequence, and is refilled when less than half of it is ahead of the
// reader. It doubles at a refill only if the reader had to wait for bytes
// since the previous one: a window the link fills in time stays as it is,
// so memory follows what the link's bandwidth and round trip need rather
// than what the budget allows.
ReadAheadStep PlanReadAhead(StreamSet& set, uint64_t offset, uint64_t size, bool waited, uint64_t object_size,
                            uint64_t cap, bool can_issue, const ReadAheadOptions& o);

// A read of [offset, end) had to wait for its bytes: the cursor it
// continues grows its window at its next refill.
void NoteWaited(StreamSet& set, uint64_t offset, uint64_t end);

// Kernel read-ahead arrives slightly out of order from several threads: a
// read this close behind a cursor continues it.
inline constexpr uint64_t kBackTolerance = 1 << 20;

// Cuts [from, to) into the runs of parallel requests: a small window in a
// few parts (new connections start slow), a large one in up to
// max_parallel parts, each a whole number of blocks.
std::vector<Span> SplitWindow(uint64_t from, uint64_t to, uint64_t window, const ReadAheadOptions& o);

}  // namespace vodfs::read
