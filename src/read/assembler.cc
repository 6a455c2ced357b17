#include "vodfs/read/assembler.h"

#include <algorithm>
#include <cstring>

#include "vodfs/util/crc64.h"

namespace vodfs::read {

RunAssembler::RunAssembler(uint64_t block_size, uint64_t object_size, uint64_t first, uint64_t count,
                           BlockSink& sink)
    : bs_(block_size),
      size_(object_size),
      block_(first),
      end_(std::min(first + count, (object_size + block_size - 1) / block_size)),
      sink_(sink) {}

uint64_t RunAssembler::BlockLength(uint64_t b) const { return std::min(bs_, size_ - b * bs_); }

bool RunAssembler::Consume(uint64_t offset, std::string_view chunk) {
  if (stopped_ || offset != block_ * bs_ + filled_) return false;
  while (!chunk.empty()) {
    if (block_ >= end_) return false;  // more than the run holds
    const uint64_t len = BlockLength(block_);
    if (!buf_) {
      buf_ = cache::BlockData::Allocate(len);
      filled_ = 0;
      crc_ = 0;
    }
    const uint64_t n = std::min<uint64_t>(len - filled_, chunk.size());
    std::memcpy(buf_->data() + filled_, chunk.data(), n);
    crc_ = Crc64(chunk.data(), n, crc_);
    filled_ += n;
    chunk.remove_prefix(n);
    if (filled_ == len) {
      buf_->set_crc64(crc_);
      const uint64_t index = block_++;
      filled_ = 0;
      if (!sink_.OnBlock(index, std::move(buf_))) {
        stopped_ = true;
        return false;
      }
      buf_.reset();
    }
  }
  return true;
}

}  // namespace vodfs::read
