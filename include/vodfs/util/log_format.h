// How log lines are written by the stderr and file sinks: as text,
// "<time> <LEVEL> <message>", or as one JSON object per line
// {"time", "level", "message"} for log collectors (journald's JSON
// forwarding, Fluent Bit, Vector, Loki). Syslog gets the bare message either
// way: it has its own framing.
//
// log::ParseLevel (log.h) also takes the usual aliases of other loggers:
// "trace", "notice", "warning", "err", "crit", "critical", "fatal", "none".
//
// Thread-safety: all functions are safe to call concurrently.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "vodfs/util/log.h"

namespace vodfs::log {

enum class Format { kText, kJson };
bool ParseFormat(std::string_view s, Format* out);  // "text" or "json"
void SetFormat(Format format);
Format GetFormat();
// One line in the current format, without the trailing newline.
std::string FormatLine(Level level, std::string_view line, std::chrono::system_clock::time_point when);

}  // namespace vodfs::log
