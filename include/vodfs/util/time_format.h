// Time formats used by the VOD API and HTTP.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace vodfs::timefmt {

// "2017-03-29T09:22:32Z" (UTC, no fraction), as the RPC Timestamp wants.
std::string FormatIso8601(int64_t unix_seconds);
// Accepts "...Z", "...+08:00", fractions ("2022-05-13T11:39:41.714+08:00") and
// a missing zone (taken as UTC). Returns Unix seconds.
std::optional<int64_t> ParseIso8601(std::string_view s);
// "Thu, 17 Nov 2005 18:49:58 GMT".
std::string FormatHttpDate(int64_t unix_seconds);
// IMF-fixdate only; a day, hour, minute or second out of its range (a leap
// second 60 is in range) is not a date.
std::optional<int64_t> ParseHttpDate(std::string_view s);
// Whether y-m-d is a day of the proleptic Gregorian calendar.
bool IsCivilDate(int64_t y, unsigned m, unsigned d);
// Days since 1970-01-01 for a civil date, and back (proleptic Gregorian).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d);
void CivilFromDays(int64_t z, int64_t* y, unsigned* m, unsigned* d);

}  // namespace vodfs::timefmt
