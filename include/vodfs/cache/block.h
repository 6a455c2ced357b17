// Block: the bytes of one block of a media object, shared read-only by the
// caches and the replies that hold them.
//
// A block is one allocation aligned for O_DIRECT (the disk tier reads into
// it directly) and never zero-filled first: whoever allocates it fills
// every byte. It carries the CRC-64 of its bytes (as OSS computes it for
// x-oss-hash-crc64ecma), computed when the bytes arrived from the origin,
// so that an object can be checked against its origin's CRC-64 once every
// block of it is in, whatever order they came in.
//
// Thread-safety: a block is immutable once shared (Block is a pointer to
// const); filling one is up to the thread that allocated it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

namespace vodfs::cache {

class BlockData {
 public:
  // Capacities are rounded up to this (O_DIRECT transfers whole sectors).
  static constexpr size_t kAlign = 4096;

  // `size` bytes of uninitialised memory.
  static std::shared_ptr<BlockData> Allocate(size_t size);
  // A copy of `bytes`, with its CRC-64 computed.
  static std::shared_ptr<BlockData> CopyOf(std::string_view bytes);

  ~BlockData();
  BlockData(const BlockData&) = delete;
  BlockData& operator=(const BlockData&) = delete;

  char* data() { return data_; }
  const char* data() const { return data_; }
  size_t size() const { return size_; }
  // The allocation: size() rounded up to kAlign.
  size_t capacity() const { return capacity_; }
  std::string_view view() const { return {data_, size_}; }
  bool empty() const { return size_ == 0; }

  uint64_t crc64() const { return crc64_; }
  void set_crc64(uint64_t crc) { crc64_ = crc; }

 private:
  BlockData(char* data, size_t size, size_t capacity) : data_(data), size_(size), capacity_(capacity) {}
  char* data_;
  size_t size_;
  size_t capacity_;
  uint64_t crc64_ = 0;
};

using Block = std::shared_ptr<const BlockData>;
using MutableBlock = std::shared_ptr<BlockData>;

}  // namespace vodfs::cache
