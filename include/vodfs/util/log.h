// Logging facade with secret redaction.
//
// Every line goes through Redact() before it reaches a sink, so no AccessKey
// secret, STS token, CDN/OSS key or signed-URL query string can be logged:
//  - strings registered with RegisterSecret() are replaced wherever they occur;
//  - the query string of every URL is replaced by "?<redacted>";
//  - the hash segment of path-signed CDN URLs (type B/C) is replaced;
//  - values of well-known sensitive parameter and header names
//    (Signature, SecurityToken, AccessKeySecret, auth_key, Authorization, ...)
//    are replaced in key=value, key: value and "key": "value" forms.
// Redact() is also what user-facing error output uses.
//
// Usage:  VODFS_LOG(kInfo) << "Cannot open " << path << ": " << err.ToString();
//
// Thread-safety: all functions are safe to call concurrently.
#pragma once

#include <functional>
#include <sstream>
#include <string>
#include <string_view>

namespace vodfs::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3, kOff = 4 };

// Parses "debug", "info", "warn", "error", "off". Returns false if unknown.
bool ParseLevel(std::string_view s, Level* out);
std::string_view LevelName(Level level);

void SetLevel(Level level);
Level GetLevel();
inline bool Enabled(Level level) { return level >= GetLevel(); }

// A sink receives fully redacted, formatted lines without a trailing newline.
using Sink = std::function<void(Level, std::string_view line)>;
// Replaces the sink (default: stderr with a timestamp). Pass nullptr to restore
// the default.
void SetSink(Sink sink);
// Sends lines to syslog instead of stderr (for daemonized mounts).
void UseSyslog(const char* ident);

// Registers a secret value that must never appear in output. Values shorter
// than 4 bytes are ignored (they would redact ordinary text).
void RegisterSecret(std::string_view secret);
void ClearRegisteredSecrets();  // for tests

std::string Redact(std::string_view text);

void Write(Level level, std::string_view message);

class Message {
 public:
  explicit Message(Level level) : level_(level) {}
  ~Message() { Write(level_, stream_.str()); }
  Message(const Message&) = delete;
  Message& operator=(const Message&) = delete;
  std::ostream& stream() { return stream_; }

 private:
  Level level_;
  std::ostringstream stream_;
};

// Turns the streamed expression into void so the macro below is a single
// expression (safe inside an unbraced if/else).
struct Voidify {
  void operator&(std::ostream&) {}
};

}  // namespace vodfs::log

#define VODFS_LOG(level)                                    \
  !::vodfs::log::Enabled(::vodfs::log::Level::level)        \
      ? (void)0                                             \
      : ::vodfs::log::Voidify() & ::vodfs::log::Message(::vodfs::log::Level::level).stream()
