// CRC-32C (Castagnoli), used to checksum cached blocks on disk.
#pragma once

#include <cstddef>
#include <cstdint>

namespace vodfs {

uint32_t Crc32c(const void* data, size_t n, uint32_t crc = 0);

}  // namespace vodfs
