#include "vodfs/util/time_format.h"

#include <cctype>
#include <cstdio>

#include "vodfs/util/strings.h"

namespace vodfs::timefmt {
namespace {

constexpr const char* kDays[] = {"Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"};
constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

struct Civil {
  int64_t y;
  unsigned mo, d, h, mi, s;
};

Civil ToCivil(int64_t t) {
  int64_t days = FloorDiv(t, 86400);
  int64_t secs = t - days * 86400;
  Civil c{};
  CivilFromDays(days, &c.y, &c.mo, &c.d);
  c.h = static_cast<unsigned>(secs / 3600);
  c.mi = static_cast<unsigned>(secs / 60 % 60);
  c.s = static_cast<unsigned>(secs % 60);
  return c;
}

bool Digits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

}  // namespace

bool IsCivilDate(int64_t y, unsigned m, unsigned d) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m < 1 || m > 12 || d < 1) return false;
  const bool leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
  return d <= kDays[m - 1] + (m == 2 && leap ? 1 : 0);
}

int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = FloorDiv(y, 400);
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void CivilFromDays(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = FloorDiv(z, 146097);
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int64_t>(yoe) + era * 400 + (*m <= 2);
}

std::string FormatIso8601(int64_t t) {
  Civil c = ToCivil(t);
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%04lld-%02u-%02uT%02u:%02u:%02uZ",
                static_cast<long long>(c.y), c.mo, c.d, c.h, c.mi, c.s);
  return buf;
}

std::optional<int64_t> ParseIso8601(std::string_view s) {
  s = str::Trim(s);
  int y, mo, d, h = 0, mi = 0, sec = 0;
  if (!Digits(s, 0, 4, &y) || s.size() < 10 || s[4] != '-' || !Digits(s, 5, 2, &mo) ||
      s[7] != '-' || !Digits(s, 8, 2, &d))
    return std::nullopt;
  size_t pos = 10;
  if (pos < s.size() && (s[pos] == 'T' || s[pos] == ' ')) {
    if (!Digits(s, pos + 1, 2, &h) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !Digits(s, pos + 4, 2, &mi))
      return std::nullopt;
    pos += 6;
    if (pos < s.size() && s[pos] == ':') {
      if (!Digits(s, pos + 1, 2, &sec)) return std::nullopt;
      pos += 3;
    }
    if (pos < s.size() && (s[pos] == '.' || s[pos] == ',')) {
      ++pos;
      size_t start = pos;
      while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) ++pos;
      if (pos == start) return std::nullopt;
    }
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
    return std::nullopt;
  int64_t offset = 0;
  if (pos < s.size()) {
    char z = s[pos];
    if (z == 'Z' || z == 'z') {
      ++pos;
    } else if (z == '+' || z == '-') {
      int oh, om = 0;
      if (!Digits(s, pos + 1, 2, &oh)) return std::nullopt;
      pos += 3;
      if (pos < s.size() && s[pos] == ':') ++pos;
      if (pos < s.size()) {
        if (!Digits(s, pos, 2, &om)) return std::nullopt;
        pos += 2;
      }
      offset = (oh * 3600 + om * 60) * (z == '+' ? 1 : -1);
    }
  }
  if (pos != s.size()) return std::nullopt;
  int64_t days = DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  return days * 86400 + h * 3600 + mi * 60 + sec - offset;
}

std::string FormatHttpDate(int64_t t) {
  Civil c = ToCivil(t);
  int64_t days = FloorDiv(t, 86400);
  int wd = static_cast<int>(((days % 7) + 7) % 7);
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%s, %02u %s %04lld %02u:%02u:%02u GMT", kDays[wd], c.d,
                kMonths[c.mo - 1], static_cast<long long>(c.y), c.h, c.mi, c.s);
  return buf;
}

std::optional<int64_t> ParseHttpDate(std::string_view s) {
  // IMF-fixdate only: "Sun, 06 Nov 1994 08:49:37 GMT".
  s = str::Trim(s);
  if (s.size() != 29 || s[3] != ',' || s.substr(26) != "GMT") return std::nullopt;
  for (size_t at : {4, 7, 11, 16, 25}) {
    if (s[at] != ' ') return std::nullopt;
  }
  if (s[19] != ':' || s[22] != ':') return std::nullopt;
  int d, y, h, mi, sec;
  if (!Digits(s, 5, 2, &d) || !Digits(s, 12, 4, &y) || !Digits(s, 17, 2, &h) ||
      !Digits(s, 20, 2, &mi) || !Digits(s, 23, 2, &sec))
    return std::nullopt;
  std::string_view mon = s.substr(8, 3);
  int m = 0;
  for (int i = 0; i < 12; ++i) {
    if (mon == kMonths[i]) m = i + 1;
  }
  if (!m || !IsCivilDate(y, static_cast<unsigned>(m), static_cast<unsigned>(d)) || h > 23 || mi > 59 ||
      sec > 60) {
    return std::nullopt;
  }
  return DaysFromCivil(y, static_cast<unsigned>(m), static_cast<unsigned>(d)) * 86400 +
         h * 3600 + mi * 60 + sec;
}

}  // namespace vodfs::timefmt
