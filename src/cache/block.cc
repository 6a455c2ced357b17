#include "vodfs/cache/block.h"

#include <cstdlib>
#include <cstring>
#include <new>

#include "vodfs/util/crc64.h"

namespace vodfs::cache {

std::shared_ptr<BlockData> BlockData::Allocate(size_t size) {
  const size_t capacity = (size + kAlign - 1) / kAlign * kAlign;
  char* p = nullptr;
  if (capacity > 0) {
    p = static_cast<char*>(std::aligned_alloc(kAlign, capacity));
    if (!p) throw std::bad_alloc();
    // The padding is written to disk with the block (O_DIRECT writes whole
    // sectors): zeros, never whatever the memory held before.
    std::memset(p + size, 0, capacity - size);
  }
  return std::shared_ptr<BlockData>(new BlockData(p, size, capacity));
}

std::shared_ptr<BlockData> BlockData::CopyOf(std::string_view bytes) {
  auto b = Allocate(bytes.size());
  if (!bytes.empty()) std::memcpy(b->data(), bytes.data(), bytes.size());
  b->set_crc64(Crc64(bytes.data(), bytes.size()));
  return b;
}

BlockData::~BlockData() { std::free(data_); }

}  // namespace vodfs::cache
