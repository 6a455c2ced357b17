// vodfs check: one line per check, with the fix when something is wrong.
#include <chrono>
#include <cmath>
#include <iostream>

#include "cli/api_errors.h"
#include "cli/api_stack.h"
#include "cli/startup_checks.h"
#include "cli/commands.h"
#include "vodfs/util/log.h"
#include "vodfs/util/strings.h"
#include "vodfs/util/time_format.h"

namespace vodfs::cli {

namespace {

class Report {
 public:
  explicit Report(std::ostream& out) : out_(out) {}
  void Ok(const std::string& what, const std::string& msg) { Line("ok  ", what, msg); }
  void Warn(const std::string& what, const std::string& msg) { Line("warn", what, msg); }
  void Fail(const std::string& what, const std::string& msg) {
    ++failures_;
    Line("FAIL", what, msg);
  }
  int failures() const { return failures_; }

 private:
  void Line(const char* tag, const std::string& what, const std::string& msg) {
    std::string w = what;
    w.resize(13, ' ');
    out_ << tag << "  " << w << log::Redact(msg) << "\n";
    out_.flush();
  }
  std::ostream& out_;
  int failures_ = 0;
};

// Explains an API failure in terms of what to do about it.
void ExplainApiError(Report& r, const Error& e, const std::string& endpoint, const std::string& key_id) {
  const ApiErrorExplanation x = cli::ExplainApiError(e, endpoint, key_id);
  r.Fail(x.topic, x.text);
}

}  // namespace

int RunCheck(const Options& o, std::ostream& out) {
  Report r(out);
  const std::string source = o.positional.size() > 1 ? o.positional[1] : "";
  auto built = BuildApiStack(o, source, SystemClock::Get());
  if (!built.ok()) {
    r.Fail("options", built.error().ToString());
    return 1;
  }
  ApiStack& s = **built;
  r.Ok("endpoint", s.endpoint + " (region " + s.region + ")");

  // Credentials.
  auto creds = s.credentials->Get();
  for (const auto& w : s.credentials->Warnings()) r.Warn("credentials", w);
  if (std::string w = ConfigFileWarning(o); !w.empty()) r.Warn("config", w);
  if (!creds.ok()) {
    r.Fail("credentials", creds.error().message);
    return 1;
  }
  std::string what = s.credentials->Describe() + ", AccessKey " + MaskKeyId(creds->access_key_id);
  if (creds->expiration) {
    what += ", temporary, valid until " + timefmt::FormatIso8601(*creds->expiration);
  }
  r.Ok("credentials", what);

  // Reachability and clock: the server's Date header against ours.
  http::Request probe;
  probe.url = s.endpoint + "/";
  probe.timeout = std::chrono::seconds(15);
  const auto t0 = std::chrono::steady_clock::now();
  auto resp = s.http->Send(probe, 1 << 20);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  if (!resp.ok()) {
    r.Fail("network", "cannot reach " + s.endpoint + ": " + resp.error().message +
                          ". Check the region/--endpoint, DNS, proxy variables (https_proxy) and firewall.");
    return 1;
  }
  r.Ok("network", s.endpoint + " answered in " + std::to_string(ms) + " ms");
  if (auto date = resp->Header("Date"); date && timefmt::ParseHttpDate(*date)) {
    const int64_t skew = SystemClock::Get().UnixNow() - *timefmt::ParseHttpDate(*date);
    const std::string desc = std::to_string(std::llabs(skew)) + " s " + (skew >= 0 ? "ahead of" : "behind") +
                             " the service";
    if (std::llabs(skew) > 900) {
      r.Fail("clock", "the local clock is " + desc +
                          "; signed requests are refused beyond 15 minutes. Synchronise it "
                          "(timedatectl set-ntp true).");
    } else if (std::llabs(skew) > 60) {
      r.Warn("clock", "the local clock is " + desc + "; synchronise it (timedatectl set-ntp true).");
    } else {
      r.Ok("clock", "within " + std::to_string(std::llabs(skew)) + " s of the service");
    }
  } else {
    r.Warn("clock", "the endpoint sent no Date header; skew unknown");
  }

  // A signed call.
  auto cats = s.vod->GetCategories({});
  if (!cats.ok()) {
    ExplainApiError(r, cats.error(), s.endpoint, creds->access_key_id);
    return 1;
  }
  r.Ok("signature", "signed call accepted (GetCategories: " + std::to_string(cats->children.size()) +
                        " top-level categories)");

  // The library.
  int64_t counts[3] = {0, 0, 0};
  const char* types[3] = {"video", "audio", "image"};
  std::vector<vod::MediaInfo> first_videos;
  for (int i = 0; i < 3; ++i) {
    vod::SearchRequest req;
    req.search_type = types[i];
    req.page_size = i == 0 ? 20 : 1;
    req.fields = "Title,Status,Size";
    auto page = s.vod->SearchMedia(req);
    if (!page.ok()) {
      ExplainApiError(r, page.error(), s.endpoint, creds->access_key_id);
      return 1;
    }
    counts[i] = page->total;
    if (i == 0) first_videos = page->media;
  }
  r.Ok("listing", std::to_string(counts[0]) + " videos, " + std::to_string(counts[1]) + " audio, " +
                      std::to_string(counts[2]) + " images");

  // One media byte, the way a read would get it.
  const vod::MediaInfo* v = nullptr;
  for (const auto& m : first_videos) {
    if (m.status == "Normal" || m.status == "Transcoding") {
      v = &m;
      break;
    }
  }
  if (!v) {
    r.Warn("media", "no playable video to test a download with");
    return r.failures() ? 1 : 0;
  }
  vod::MezzanineRequest mr;
  mr.video_id = v->id;
  mr.output_type = o.output_type == "oss" ? vod::OutputType::kOss : vod::OutputType::kCdn;
  auto mz = s.vod->GetMezzanineInfo(mr);
  if (!mz.ok()) {
    r.Warn("media", "GetMezzanineInfo of " + v->id + " failed: " + mz.error().ToString());
    return r.failures() ? 1 : 0;
  }
  http::Request get;
  get.url = mz->file_url;
  get.range = std::make_pair(uint64_t{0}, uint64_t{0});
  get.timeout = std::chrono::seconds(20);
  if (!o.referer.empty()) get.headers.emplace_back("Referer", o.referer);
  if (!o.media_user_agent.empty()) get.headers.emplace_back("User-Agent", o.media_user_agent);
  auto media = s.http->Send(get, 1 << 20);
  if (!media.ok()) {
    r.Fail("media", "cannot reach the media origin: " + media.error().message);
  } else if (media->status == 206 || media->status == 200) {
    r.Ok("media", "source of " + v->id + " readable (HTTP " + std::to_string(media->status) + ")");
  } else if (media->status == 403) {
    r.Fail("media", "the media origin refused the download (403). If the domain has a Referer "
                    "allow-list, pass --referer with an allowed URL; check the CDN's URL signing.");
  } else {
    r.Fail("media", "the media origin answered HTTP " + std::to_string(media->status));
  }
  return r.failures() ? 1 : 0;
}

}  // namespace vodfs::cli
