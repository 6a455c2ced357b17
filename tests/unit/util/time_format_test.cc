#include "vodfs/util/time_format.h"

#include <gtest/gtest.h>

namespace vodfs::timefmt {
namespace {

TEST(TimeFormatTest, Iso8601) {
  EXPECT_EQ(FormatIso8601(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatIso8601(1456231584), "2016-02-23T12:46:24Z");
  EXPECT_EQ(ParseIso8601("2016-02-23T12:46:24Z"), 1456231584);
  EXPECT_EQ(ParseIso8601("2022-05-13T11:39:41.714+08:00"), ParseIso8601("2022-05-13T03:39:41Z"));
  EXPECT_EQ(ParseIso8601("2022-05-13T03:39:41"), ParseIso8601("2022-05-13T03:39:41Z"));
  EXPECT_EQ(ParseIso8601("2022-05-13T03:39Z"), ParseIso8601("2022-05-13T03:39:00Z"));
  EXPECT_EQ(ParseIso8601("2022-05-13"), ParseIso8601("2022-05-13T00:00:00Z"));
  EXPECT_EQ(ParseIso8601("2024-02-29T00:00:00-01:30"), ParseIso8601("2024-02-29T01:30:00Z"));
  EXPECT_FALSE(ParseIso8601("2022-13-01T00:00:00Z"));
  EXPECT_FALSE(ParseIso8601("yesterday"));
  EXPECT_FALSE(ParseIso8601("2022-05-13T03:39:41Zjunk"));
  EXPECT_FALSE(ParseIso8601(""));
}

TEST(TimeFormatTest, HttpDate) {
  EXPECT_EQ(FormatHttpDate(1132253398), "Thu, 17 Nov 2005 18:49:58 GMT");
  EXPECT_EQ(ParseHttpDate("Thu, 17 Nov 2005 18:49:58 GMT"), 1132253398);
  EXPECT_EQ(FormatHttpDate(0), "Thu, 01 Jan 1970 00:00:00 GMT");
  EXPECT_FALSE(ParseHttpDate("Thursday, 17-Nov-05 18:49:58 GMT"));
  // Fields out of their range were read as another time ("08:90" as 09:30).
  EXPECT_FALSE(ParseHttpDate("Sun, 06 Nov 1994 08:90:37 GMT"));
  EXPECT_FALSE(ParseHttpDate("Sun, 06 Nov 1994 24:49:37 GMT"));
  EXPECT_FALSE(ParseHttpDate("Sun, 06 Nov 1994 08:49:61 GMT"));
  EXPECT_FALSE(ParseHttpDate("Sun, 00 Nov 1994 08:49:37 GMT"));
  EXPECT_FALSE(ParseHttpDate("Sun, 31 Nov 1994 08:49:37 GMT"));
  EXPECT_FALSE(ParseHttpDate("Sun, 29 Feb 1900 08:49:37 GMT"));
  EXPECT_FALSE(ParseHttpDate("Thu,)17 Nov 2005 18:49:58 GMT"));
  EXPECT_FALSE(ParseHttpDate("Thu, 17 Nov 2005 18.49.58 GMT"));
  EXPECT_FALSE(ParseHttpDate("Thu, 17-Nov-2005 18:49:58 GMT"));
  EXPECT_EQ(ParseHttpDate("Thu, 29 Feb 2024 00:00:00 GMT"), 1709164800);
  EXPECT_EQ(ParseHttpDate("Sat, 31 Dec 2016 23:59:60 GMT"), 1483228800);  // a leap second
}

TEST(TimeFormatTest, CivilDates) {
  EXPECT_TRUE(IsCivilDate(2024, 2, 29));
  EXPECT_FALSE(IsCivilDate(2023, 2, 29));
  EXPECT_FALSE(IsCivilDate(1900, 2, 29));
  EXPECT_TRUE(IsCivilDate(2000, 2, 29));
  EXPECT_FALSE(IsCivilDate(2021, 4, 31));
  EXPECT_TRUE(IsCivilDate(2021, 12, 31));
  EXPECT_FALSE(IsCivilDate(2021, 13, 1));
  EXPECT_FALSE(IsCivilDate(2021, 0, 1));
  EXPECT_FALSE(IsCivilDate(2021, 1, 0));
}

TEST(TimeFormatTest, CivilRoundTrip) {
  for (int64_t d = -800000; d <= 800000; d += 997) {
    int64_t y;
    unsigned m, day;
    CivilFromDays(d, &y, &m, &day);
    EXPECT_EQ(DaysFromCivil(y, m, day), d);
  }
}

}  // namespace
}  // namespace vodfs::timefmt
