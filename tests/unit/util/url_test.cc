#include "vodfs/util/url.h"

#include <gtest/gtest.h>

#include <string>

namespace vodfs {
namespace {

TEST(UrlTest, Parse) {
  auto u = Url::Parse("HTTP://Example.COM:8080/a/b%20c?x=1&y=%2F#frag");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->scheme, "http");
  EXPECT_EQ(u->host, "example.com");
  EXPECT_EQ(u->port, 8080);
  EXPECT_EQ(u->path, "/a/b%20c");
  EXPECT_EQ(u->query, "x=1&y=%2F");
  EXPECT_EQ(u->Origin(), "http://example.com:8080");
  EXPECT_EQ(u->EffectivePort(), 8080);

  auto v6 = Url::Parse("https://[::1]:9/x");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->Origin(), "https://[::1]:9");

  auto bare = Url::Parse("https://h");
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->path, "/");
  EXPECT_EQ(bare->EffectivePort(), 443);

  EXPECT_FALSE(Url::Parse("ftp://h/x"));
  EXPECT_FALSE(Url::Parse("http://user:pw@h/x"));
  EXPECT_FALSE(Url::Parse("http://h:99999/x"));
  EXPECT_FALSE(Url::Parse("http:///x"));
  EXPECT_FALSE(Url::Parse("no scheme"));
}

TEST(UrlTest, HostsThatAreNotHostsAreRefused) {
  // Each was taken for a host that renders to another URL: "a[::1]" came
  // back as "[a[::1]]", which parses to the host "a[::1".
  EXPECT_FALSE(Url::Parse("http://a[::1]:8080/x"));
  EXPECT_FALSE(Url::Parse("http://a]b/x"));
  EXPECT_FALSE(Url::Parse("http://::1:80/x"));  // IPv6 needs brackets
  EXPECT_FALSE(Url::Parse("http://a b/x"));
  EXPECT_FALSE(Url::Parse(std::string("http://a\0b/x", 12)));
  EXPECT_FALSE(Url::Parse("http://[example]/x"));  // brackets hold IPv6 only
  EXPECT_FALSE(Url::Parse("http://[]/x"));
  auto v6 = Url::Parse("http://[FE80::1]:8/x");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "fe80::1");
  for (const char* text : {"http://[fe80::1]:8/x?q=1", "https://outin-b_1.oss-cn-shanghai.aliyuncs.com/sv/a.mp4",
                           "http://127.0.0.1:1/"}) {
    auto u = Url::Parse(text);
    ASSERT_TRUE(u) << text;
    EXPECT_EQ(u->ToString(), text);
  }
}

TEST(UrlTest, Query) {
  auto q = ParseQuery("a=1&b=%2F&a=2&flag&c=x+y");
  ASSERT_EQ(q.size(), 5u);
  EXPECT_EQ(QueryGet(q, "a"), "1");  // first wins
  EXPECT_EQ(QueryGet(q, "b"), "/");
  EXPECT_EQ(QueryGet(q, "flag"), "");
  EXPECT_EQ(QueryGet(q, "c"), "x y");
  EXPECT_FALSE(QueryGet(q, "missing"));
  EXPECT_EQ(QueryRemove("a=1&auth_key=z&b=2", {"auth_key"}), "a=1&b=2");
}

TEST(UrlTest, Resolve) {
  const std::string base = "http://cdn.example.com/v/HD/index.m3u8?auth_key=abc";
  EXPECT_EQ(ResolveUrl(base, "seg-1.ts?auth_key=z"), "http://cdn.example.com/v/HD/seg-1.ts?auth_key=z");
  EXPECT_EQ(ResolveUrl(base, "../x.ts"), "http://cdn.example.com/v/x.ts");
  EXPECT_EQ(ResolveUrl(base, "/abs/y.ts"), "http://cdn.example.com/abs/y.ts");
  EXPECT_EQ(ResolveUrl(base, "https://other/z.ts"), "https://other/z.ts");
  EXPECT_EQ(ResolveUrl(base, "//other/z.ts"), "http://other/z.ts");
  EXPECT_FALSE(ResolveUrl("relative", "x"));
  // A reference that does not make a URL is refused, not handed on.
  EXPECT_FALSE(ResolveUrl(base, "//other:/z.ts"));
  EXPECT_FALSE(ResolveUrl(base, "//a b/z.ts"));
  EXPECT_FALSE(ResolveUrl(base, "ftp://other/z.ts"));
}

}  // namespace
}  // namespace vodfs
