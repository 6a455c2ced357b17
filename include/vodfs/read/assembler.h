// RunAssembler: cuts the byte stream of one ranged request into the blocks
// it covers, the one place where bytes become blocks.
//
// A request for blocks [first, first+count) of an object delivers its
// bytes in chunks of any size; the assembler copies them into block-sized
// buffers (each allocated once, never zero-filled), computes each block's
// CRC-64 while the chunk is still in the CPU's cache, and hands every
// whole block to a BlockSink. It knows nothing of HTTP or of the caches:
// whatever feeds it bytes, whatever the sink does with blocks.
//
// Thread-safety: one assembler per transfer, used by one thread at a time.
#pragma once

#include <cstdint>
#include <string_view>

#include "vodfs/cache/block.h"

namespace vodfs::read {

class BlockSink {
 public:
  virtual ~BlockSink() = default;
  // Block `index` is whole, its CRC-64 set. Returning false stops the
  // transfer (the assembler refuses further bytes).
  virtual bool OnBlock(uint64_t index, cache::MutableBlock block) = 0;
};

class RunAssembler {
 public:
  // `object_size` cuts the last block short; `count` may reach past the
  // end of the object (the run then ends with the object's last block).
  RunAssembler(uint64_t block_size, uint64_t object_size, uint64_t first, uint64_t count, BlockSink& sink);

  // The bytes at object offset `offset`, which must be where the previous
  // chunk ended (the run's start for the first). False when the sink
  // stopped, or the chunk is out of place or past the run.
  bool Consume(uint64_t offset, std::string_view chunk);

  // The first block not yet handed to the sink.
  uint64_t next_block() const { return block_; }
  // The block after the run's last.
  uint64_t end_block() const { return end_; }
  bool complete() const { return block_ >= end_; }

 private:
  uint64_t BlockLength(uint64_t b) const;

  const uint64_t bs_;
  const uint64_t size_;
  uint64_t block_;
  const uint64_t end_;
  BlockSink& sink_;
  cache::MutableBlock buf_;  // the block being filled
  uint64_t filled_ = 0;
  uint64_t crc_ = 0;
  bool stopped_ = false;
};

}  // namespace vodfs::read
