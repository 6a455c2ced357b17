// Makes the demo library with ffmpeg: real, playable media in a folder with
// a manifest.json the emulator loads (see docs/EMULATOR.md).
#pragma once

#include <string>

#include "vodfs/util/result.h"

namespace vodfs::emu {

// Writes the demo library into `dir` (created if missing). Idempotent: an
// existing complete library (manifest.json present) is left alone.
Status MakeDemoLibrary(const std::string& dir);

}  // namespace vodfs::emu
