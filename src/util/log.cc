#include "vodfs/util/log.h"
#include "vodfs/util/log_format.h"
#include "vodfs/util/mutex.h"

#include <syslog.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <set>
#include <vector>

namespace vodfs::log {
namespace {

constexpr std::string_view kRedacted = "<redacted>";

std::atomic<int> g_level{static_cast<int>(Level::kInfo)};

struct State {
  Mutex mu;
  Sink sink GUARDED_BY(mu);
  bool syslog GUARDED_BY(mu) = false;
  // Longest first so that a secret containing another is replaced whole.
  std::vector<std::string> secrets GUARDED_BY(mu);
};

State& GetState() {
  static State* state = new State();  // never destroyed: usable during exit
  return *state;
}

bool IsWordChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
}

bool IsHex(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
}
bool IsDigits(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}

// Characters that end a URL embedded in prose, JSON or a log line.
bool EndsUrl(char c) {
  return std::isspace(static_cast<unsigned char>(c)) || c == '"' || c == '\'' || c == '<' ||
         c == '>' || c == '`' || c == '\\';
}

// Redacts the query string and path-embedded signatures of every URL.
std::string RedactUrls(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  size_t i = 0;
  while (i < in.size()) {
    size_t http = std::string_view::npos;
    for (size_t j = i; j + 7 <= in.size(); ++j) {
      if ((in[j] == 'h' || in[j] == 'H') &&
          (IEquals(in.substr(j, 7), "http://") ||
           (j + 8 <= in.size() && IEquals(in.substr(j, 8), "https://")))) {
        http = j;
        break;
      }
    }
    if (http == std::string_view::npos) {
      out.append(in.substr(i));
      break;
    }
    out.append(in.substr(i, http - i));
    size_t end = http;
    while (end < in.size() && !EndsUrl(in[end])) ++end;
    std::string_view url = in.substr(http, end - http);
    size_t scheme_end = url.find("://") + 3;
    size_t path_start = url.find('/', scheme_end);
    size_t q = url.find('?');
    size_t path_end = q == std::string_view::npos ? url.size() : q;
    if (path_start == std::string_view::npos || path_start > path_end) path_start = path_end;
    out.append(url.substr(0, path_start));
    // Path: type B (/YYYYMMDDHHMM/<md5>/...) and type C (/<md5>/<hex ts>/...)
    // carry the signature in the first two segments.
    std::string_view path = url.substr(path_start, path_end - path_start);
    std::vector<std::string_view> segs;
    size_t p = 0;
    while (p < path.size()) {
      size_t s = path.find('/', p + 1);
      if (s == std::string_view::npos) s = path.size();
      segs.push_back(path.substr(p, s - p));  // includes the leading '/'
      p = s;
    }
    auto seg_body = [](std::string_view s) { return s.empty() ? s : s.substr(1); };
    if (segs.size() >= 3) {
      std::string_view a = seg_body(segs[0]), b = seg_body(segs[1]);
      if (a.size() == 12 && IsDigits(a) && b.size() == 32 && IsHex(b)) {
        segs[1] = "/<redacted>";
      } else if (a.size() == 32 && IsHex(a) && !b.empty() && b.size() <= 16 && IsHex(b)) {
        segs[0] = "/<redacted>";
      }
    }
    for (auto s : segs) out.append(s);
    if (q != std::string_view::npos) {
      out.append("?");
      out.append(kRedacted);
    }
    i = end;
  }
  return out;
}

constexpr std::string_view kSensitiveNames[] = {
    "Signature",          "SecurityToken",        "security-token", "security_token",
    "AccessKeySecret",    "access_key_secret",    "auth_key",       "x-oss-signature",
    "x-oss-security-token", "x-acs-security-token", "sts_token",      "Authorization",
    "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "ALIBABA_CLOUD_SECURITY_TOKEN", "cdn_key", "cdn-key",
    "oss_secret", "oss-secret", "access-key-secret", "oss-access-key-secret",
};

// Redacts values following sensitive names in key=value, key: value and
// "key": "value" forms.
std::string RedactKeyValues(std::string text) {
  for (std::string_view name : kSensitiveNames) {
    size_t from = 0;
    while (true) {
      // Case-insensitive search.
      size_t pos = std::string::npos;
      for (size_t j = from; j + name.size() <= text.size(); ++j) {
        if (IEquals(std::string_view(text).substr(j, name.size()), name)) {
          pos = j;
          break;
        }
      }
      if (pos == std::string::npos) break;
      size_t k = pos + name.size();
      from = k;
      if (pos > 0 && (std::isalnum(static_cast<unsigned char>(text[pos - 1])) ||
                      text[pos - 1] == '_'))
        continue;
      if (k < text.size() && IsWordChar(text[k])) continue;
      const bool quoted_key = pos > 0 && text[pos - 1] == '"';
      const bool line_start = pos == 0 || text[pos - 1] == '\n';
      if (k < text.size() && text[k] == '"') ++k;
      while (k < text.size() && text[k] == ' ') ++k;
      if (k >= text.size() || (text[k] != '=' && text[k] != ':')) continue;
      // "name: value" is a JSON member or a header line; in prose
      // ("signature: the secret ...") it is left alone.
      if (text[k] == ':' && !quoted_key && !line_start) continue;
      const bool header_form = text[k] == ':' && !quoted_key;
      ++k;
      while (k < text.size() && text[k] == ' ') ++k;
      char quote = 0;
      if (k < text.size() && (text[k] == '"' || text[k] == '\'')) quote = text[k++];
      size_t v = k;
      while (v < text.size()) {
        char c = text[v];
        if (quote) {
          if (c == quote) break;
        } else if (header_form) {
          if (c == '\n' || c == '\r') break;
        } else if (std::isspace(static_cast<unsigned char>(c)) || c == '&' || c == '"' ||
                   c == '\'' || c == ',' || c == ';' || c == ')' || c == '>' || c == '}') {
          break;
        }
        ++v;
      }
      if (v == k) continue;
      if (std::string_view(text).substr(k, v - k) == kRedacted) continue;
      text.replace(k, v - k, kRedacted);
      from = k + kRedacted.size();
    }
  }
  return text;
}

std::atomic<int> g_format{static_cast<int>(Format::kText)};

void DefaultSink(Level level, std::string_view line) {
  const std::string out = FormatLine(level, line, std::chrono::system_clock::now());
  std::fprintf(stderr, "%s\n", out.c_str());
}

void AppendJsonString(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 15]);
        } else {
          out.push_back(ch);  // UTF-8 passes through
        }
    }
  }
  out.push_back('"');
}

}  // namespace

bool ParseLevel(std::string_view s, Level* out) {
  // The names of syslog(3), log4j/slf4j, Python logging and Go's slog all
  // map onto the four levels here.
  static constexpr std::pair<std::string_view, Level> kNames[] = {
      {"trace", Level::kDebug},   {"debug", Level::kDebug},    {"info", Level::kInfo},
      {"notice", Level::kInfo},   {"warn", Level::kWarn},      {"warning", Level::kWarn},
      {"error", Level::kError},   {"err", Level::kError},      {"crit", Level::kError},
      {"critical", Level::kError}, {"fatal", Level::kError},   {"off", Level::kOff},
      {"none", Level::kOff}};
  for (const auto& [name, level] : kNames) {
    if (IEquals(s, name)) {
      *out = level;
      return true;
    }
  }
  return false;
}

std::string_view LevelName(Level level) {
  switch (level) {
    case Level::kDebug: return "DEBUG";
    case Level::kInfo: return "INFO";
    case Level::kWarn: return "WARN";
    case Level::kError: return "ERROR";
    case Level::kOff: return "OFF";
  }
  return "?";
}

bool ParseFormat(std::string_view s, Format* out) {
  if (IEquals(s, "text")) {
    *out = Format::kText;
  } else if (IEquals(s, "json")) {
    *out = Format::kJson;
  } else {
    return false;
  }
  return true;
}

void SetFormat(Format format) { g_format.store(static_cast<int>(format)); }
Format GetFormat() { return static_cast<Format>(g_format.load(std::memory_order_relaxed)); }

std::string FormatLine(Level level, std::string_view line, std::chrono::system_clock::time_point when) {
  using namespace std::chrono;
  std::time_t t = system_clock::to_time_t(when);
  auto ms = duration_cast<milliseconds>(when.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char ts[40];
  const size_t n = std::strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(ts + n, sizeof(ts) - n, ".%03dZ", static_cast<int>(ms));
  std::string out;
  if (GetFormat() == Format::kJson) {
    std::string lower(LevelName(level));
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out = "{\"time\":\"";
    out += ts;
    out += "\",\"level\":\"" + lower + "\",\"message\":";
    AppendJsonString(out, line);
    out += "}";
  } else {
    char level_name[8];
    std::snprintf(level_name, sizeof(level_name), "%-5s", std::string(LevelName(level)).c_str());
    out = std::string(ts) + " " + level_name + " ";
    out.append(line);
  }
  return out;
}

void SetLevel(Level level) { g_level.store(static_cast<int>(level)); }
Level GetLevel() { return static_cast<Level>(g_level.load(std::memory_order_relaxed)); }

void SetSink(Sink sink) {
  State& s = GetState();
  MutexLock lock(&s.mu);
  s.sink = std::move(sink);
  s.syslog = false;
}

void UseSyslog(const char* ident) {
  openlog(ident, LOG_PID, LOG_DAEMON);
  State& s = GetState();
  MutexLock lock(&s.mu);
  s.sink = nullptr;
  s.syslog = true;
}

void RegisterSecret(std::string_view secret) {
  if (secret.size() < 4) return;
  State& s = GetState();
  MutexLock lock(&s.mu);
  std::string value(secret);
  if (std::find(s.secrets.begin(), s.secrets.end(), value) != s.secrets.end()) return;
  // The percent-encoded form appears in URLs and signed query strings, and
  // the doubly encoded one in RPC strings-to-sign.
  auto encode = [](const std::string& in) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string enc;
    for (unsigned char c : in) {
      if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
        enc.push_back(static_cast<char>(c));
      } else {
        enc.push_back('%');
        enc.push_back(kHex[c >> 4]);
        enc.push_back(kHex[c & 15]);
      }
    }
    return enc;
  };
  std::vector<std::string> forms = {value};
  std::string once = encode(value);
  if (once != value) {
    forms.push_back(once);
    forms.push_back(encode(once));
  }
  for (auto& f : forms) s.secrets.push_back(std::move(f));
  std::sort(s.secrets.begin(), s.secrets.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
}

void ClearRegisteredSecrets() {
  State& s = GetState();
  MutexLock lock(&s.mu);
  s.secrets.clear();
}

std::string Redact(std::string_view text) {
  std::string out(text);
  {
    State& s = GetState();
    MutexLock lock(&s.mu);
    for (const auto& secret : s.secrets) {
      size_t pos = 0;
      while ((pos = out.find(secret, pos)) != std::string::npos) {
        out.replace(pos, secret.size(), kRedacted);
        pos += kRedacted.size();
      }
    }
  }
  return RedactKeyValues(RedactUrls(out));
}

void Write(Level level, std::string_view message) {
  if (!Enabled(level)) return;
  std::string line = Redact(message);
  State& s = GetState();
  MutexLock lock(&s.mu);
  if (s.sink) {
    s.sink(level, line);
  } else if (s.syslog) {
    int prio = level == Level::kError  ? LOG_ERR
               : level == Level::kWarn ? LOG_WARNING
               : level == Level::kInfo ? LOG_INFO
                                       : LOG_DEBUG;
    syslog(prio, "%s", line.c_str());
  } else {
    DefaultSink(level, line);
  }
}

}  // namespace vodfs::log
