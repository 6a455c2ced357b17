#include "emulator/demo_maker.h"

#include <dirent.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <vector>

#include "vodfs/util/strings.h"
#include "vodfs/util/time_format.h"

extern char** environ;

namespace vodfs::emu {
namespace {

using nlohmann::json;

Status Run(const std::vector<std::string>& argv) {
  std::vector<char*> c;
  for (const auto& a : argv) c.push_back(const_cast<char*>(a.c_str()));
  c.push_back(nullptr);
  pid_t pid;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  int rc = posix_spawnp(&pid, c[0], &fa, nullptr, c.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) {
    return Status(ErrorCode::kFailedPrecondition,
                  "Cannot run " + argv[0] + " (is ffmpeg installed?): " + std::strerror(rc));
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return Status(ErrorCode::kInternal, "command failed: " + str::Join(argv, " "));
  }
  return Status::Ok();
}

Status MakeDirs(const std::string& path) {
  std::string cur;
  for (const auto& part : str::Split(path, '/')) {
    cur += part + "/";
    if (part.empty()) continue;
    if (::mkdir(cur.c_str(), 0755) != 0 && errno != EEXIST) {
      return Status(ErrorCode::kFailedPrecondition, "Cannot create " + cur + ": " + std::strerror(errno));
    }
  }
  return Status::Ok();
}

std::vector<std::string> ListFiles(const std::string& dir, const std::string& suffix) {
  std::vector<std::string> out;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (str::EndsWith(n, suffix)) out.push_back(n);
    }
    ::closedir(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

uint64_t FileSize(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

std::string DemoId(const std::string& name) {
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%016llx%016llx",
                static_cast<unsigned long long>(str::StableHash64(name, 2024)),
                static_cast<unsigned long long>(str::StableHash64(name, 7)));
  return buf;
}

const std::vector<std::string> kFfmpeg = {"ffmpeg", "-nostdin", "-y", "-loglevel", "error"};

std::vector<std::string> Ff(std::vector<std::string> rest) {
  std::vector<std::string> v = kFfmpeg;
  v.insert(v.end(), rest.begin(), rest.end());
  return v;
}

struct VideoSpec {
  std::string key;     // stable name used for the id
  std::string title;
  std::string source;  // lavfi video source
  int seconds;
  int width, height;
  int64_t cate_id;
  std::string status = "Normal";
  bool full = false;    // all transcodes, HLS, sprites
  bool has_source = true;
  std::string tags = "demo";
};

class Maker {
 public:
  explicit Maker(std::string dir) : dir_(std::move(dir)) {}

  Status Make() {
    VODFS_RETURN_IF_ERROR(MakeDirs(dir_ + "/media"));
    VODFS_RETURN_IF_ERROR(MakeDirs(dir_ + "/images"));
    std::string long_title;
    while (long_title.size() < 290) long_title += "Très longue vidéo ";
    long_title = long_title.substr(0, str::Utf8PrefixLength(long_title, 296)) + " end";
    std::vector<VideoSpec> videos = {
        {"pattern", "Test pattern (moov at end)", "testsrc2=size=1280x720:rate=25", 10, 1280, 720,
         1011, "Normal", true, true, "demo,pattern"},
        {"waves", "Ocean/Waves: part 1/2", "mandelbrot=size=960x540:rate=25", 6, 960, 540, 1021,
         "Normal", false, true, "demo,slash"},
        {"dotdot", "..", "smptebars=size=640x360:rate=25", 4, 640, 360, 1022, "Normal", false,
         true, "demo"},
        {"emoji", "Launch day 🚀🎬", "rgbtestsrc=size=640x360:rate=25", 4, 640, 360, 1101,
         "Normal", false, true, "demo,emoji"},
        {"long", long_title, "testsrc=size=640x360:rate=25", 4, 640, 360, -1, "Normal", false,
         true, "demo"},
        {"dup-a", "Duplicate title", "cellauto=size=640x360:rate=25", 4, 640, 360, 1102, "Normal",
         false, true, "demo"},
        {"dup-b", "Duplicate title", "life=size=640x360:rate=25:mold=10", 4, 640, 360, 1102,
         "Normal", false, true, "demo"},
        {"transcoding", "Still transcoding", "testsrc2=size=640x360:rate=25", 3, 640, 360, 1011,
         "Transcoding", false, true, "demo"},
        {"failed", "Upload failed", "", 0, 0, 0, 1011, "UploadFail", false, false, "demo"},
    };
    int64_t t = 1709287200;  // 2024-03-01T10:00:00Z
    for (const auto& v : videos) {
      VODFS_RETURN_IF_ERROR(MakeVideo(v, t));
      t += 3600;
    }
    VODFS_RETURN_IF_ERROR(MakeAudio(t));
    t += 3600;
    VODFS_RETURN_IF_ERROR(MakeImages(t));
    root_["categories"] = json::array({
        {{"id", 1000}, {"name", "Sports"}, {"parent_id", -1}, {"level", 0}},
        {{"id", 1010}, {"name", "Highlights"}, {"parent_id", 1000}, {"level", 1}},
        {{"id", 1011}, {"name", "2024"}, {"parent_id", 1010}, {"level", 2}},
        {{"id", 1020}, {"name", "Nature"}, {"parent_id", 1000}, {"level", 1}},
        {{"id", 1021}, {"name", "Sea"}, {"parent_id", 1020}, {"level", 2}},
        {{"id", 1022}, {"name", "Test cards"}, {"parent_id", 1020}, {"level", 2}},
        {{"id", 1100}, {"name", "Events/Launches"}, {"parent_id", -1}, {"level", 0}},
        {{"id", 1101}, {"name", "Rockets"}, {"parent_id", 1100}, {"level", 1}},
        {{"id", 1102}, {"name", "Duplicates"}, {"parent_id", 1100}, {"level", 1}},
        {{"id", 1200}, {"name", "Podcasts"}, {"parent_id", -1}, {"level", 0}},
    });
    std::ofstream out(dir_ + "/manifest.json.tmp");
    out << root_.dump(2) << "\n";
    out.close();
    if (!out || std::rename((dir_ + "/manifest.json.tmp").c_str(), (dir_ + "/manifest.json").c_str()) != 0) {
      return Status(ErrorCode::kInternal, "Cannot write " + dir_ + "/manifest.json");
    }
    return Status::Ok();
  }

 private:
  Status MakeVideo(const VideoSpec& v, int64_t t) {
    const std::string id = DemoId(v.key);
    const std::string rel = "media/" + id;
    const std::string abs = dir_ + "/" + rel;
    VODFS_RETURN_IF_ERROR(MakeDirs(abs));
    json m = {{"id", id},
              {"type", "video"},
              {"title", v.title},
              {"description", "Demo video '" + v.key + "'"},
              {"tags", v.tags},
              {"cate_id", v.cate_id},
              {"status", v.status},
              {"creation_time", timefmt::FormatIso8601(t)},
              {"modification_time", timefmt::FormatIso8601(t + 900)},
              {"duration", v.seconds},
              {"width", v.width},
              {"height", v.height},
              {"fps", "25"}};
    if (!v.has_source) {
      root_["media"].push_back(m);
      return Status::Ok();
    }
    const std::string d = std::to_string(v.seconds);
    // The source keeps ffmpeg's default layout: moov atom at the end.
    VODFS_RETURN_IF_ERROR(Run(Ff({"-f", "lavfi", "-i", v.source, "-f", "lavfi",
                                  "-i", "sine=frequency=440:sample_rate=44100:duration=" + d,
                                  "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
                                  "-g", "50", "-c:a", "aac", "-b:a", "96k", "-t", d,
                                  abs + "/source.mp4"})));
    m["source"] = {{"file", rel + "/source.mp4"}, {"file_name", v.key + "-master.mp4"}};
    m["bitrate"] = std::to_string(FileSize(abs + "/source.mp4") * 8 / 1000 / std::max(1, v.seconds));
    json streams = json::array();
    if (v.status == "Normal") {
      struct Def {
        const char* name;
        int w, h;
      };
      std::vector<Def> defs = {{"LD", 320, 180}, {"SD", 640, 360}};
      if (v.full) defs.push_back({"HD", 1280, 720});
      if (v.key == "waves") defs = {{"LD", 320, 180}, {"HD", 960, 540}};
      for (const auto& def : defs) {
        std::string file = std::string(def.name) + ".mp4";
        VODFS_RETURN_IF_ERROR(Transcode(abs + "/source.mp4", def.w, def.h, abs + "/" + file, {"-movflags", "+faststart"}));
        streams.push_back(StreamJson(def.name, "mp4", rel + "/" + file, def.w, def.h, v.seconds));
      }
      if (v.key == "waves") {
        // An older LD stream replaced by a newer one: Invisible, as with
        // ResultType=Multiple on the real service.
        VODFS_RETURN_IF_ERROR(Transcode(abs + "/source.mp4", 256, 144, abs + "/LD-old.mp4", {}));
        json old = StreamJson("LD", "mp4", rel + "/LD-old.mp4", 256, 144, v.seconds);
        old["status"] = "Invisible";
        old["creation_time"] = timefmt::FormatIso8601(t + 100);
        streams.push_back(old);
      }
      if (v.full) {
        VODFS_RETURN_IF_ERROR(Transcode(abs + "/source.mp4", 640, 360, abs + "/SD.flv", {"-f", "flv"}));
        streams.push_back(StreamJson("SD", "flv", rel + "/SD.flv", 640, 360, v.seconds));
        VODFS_RETURN_IF_ERROR(MakeDirs(abs + "/SD-hls"));
        VODFS_RETURN_IF_ERROR(Transcode(abs + "/source.mp4", 640, 360, abs + "/SD-hls/index.m3u8",
                                        {"-f", "hls", "-hls_time", "2", "-hls_playlist_type", "vod",
                                         "-hls_segment_filename", abs + "/SD-hls/seg-%03d.ts"}));
        json hls = StreamJson("SD", "m3u8", "", 640, 360, v.seconds);
        hls.erase("file");
        hls["playlist"] = rel + "/SD-hls/index.m3u8";
        hls["segments"] = ListFiles(abs + "/SD-hls", ".ts");
        streams.push_back(hls);
        // A proprietary-encrypted stream: only visible with ResultType=Multiple.
        VODFS_RETURN_IF_ERROR(Transcode(abs + "/source.mp4", 640, 360, abs + "/OD-enc.mp4", {}));
        json enc = StreamJson("OD", "mp4", rel + "/OD-enc.mp4", 640, 360, v.seconds);
        enc["encrypt_type"] = "AliyunVoDEncryption";
        streams.push_back(enc);
        // An audio-only transcode of a video.
        VODFS_RETURN_IF_ERROR(Run(Ff({"-i", abs + "/source.mp4", "-vn", "-c:a", "libmp3lame", "-b:a",
                                      "96k", abs + "/SQ.mp3"})));
        json sq = StreamJson("SQ", "mp3", rel + "/SQ.mp3", 0, 0, v.seconds);
        sq["stream_type"] = "audio";
        streams.push_back(sq);
      }
      m["streams"] = streams;
      VODFS_RETURN_IF_ERROR(Snapshots(abs, rel, v.full, &m));
    } else if (v.status == "Transcoding") {
      m["streams"] = json::array();
    }
    root_["media"].push_back(m);
    return Status::Ok();
  }

  Status Transcode(const std::string& in, int w, int h, const std::string& out,
                   std::vector<std::string> extra) {
    std::vector<std::string> a = {"-i", in, "-vf", "scale=" + std::to_string(w) + ":" + std::to_string(h),
                                  "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
                                  "-g", "50", "-c:a", "aac", "-b:a", "64k"};
    a.insert(a.end(), extra.begin(), extra.end());
    a.push_back(out);
    return Run(Ff(a));
  }

  json StreamJson(const std::string& def, const std::string& fmt, const std::string& file, int w,
                  int h, int seconds) const {
    uint64_t size = file.empty() ? 0 : FileSize(dir_ + "/" + file);
    return json{{"definition", def},
                {"format", fmt},
                {"file", file},
                {"width", w},
                {"height", h},
                {"fps", w ? "25" : ""},
                {"duration", seconds},
                {"bitrate", static_cast<double>(size) * 8 / 1000 / std::max(1, seconds)}};
  }

  Status Snapshots(const std::string& abs, const std::string& rel, bool sprites, json* m) {
    const std::string src = abs + "/source.mp4";
    VODFS_RETURN_IF_ERROR(MakeDirs(abs + "/snapshots/normal"));
    VODFS_RETURN_IF_ERROR(Run(Ff({"-ss", "1", "-i", src, "-frames:v", "1", "-q:v", "3",
                                  abs + "/snapshots/cover.jpg"})));
    (*m)["cover"] = rel + "/snapshots/cover.jpg";
    VODFS_RETURN_IF_ERROR(Run(Ff({"-i", src, "-vf", "fps=1/2,scale=320:-2", "-q:v", "4",
                                  abs + "/snapshots/normal/%04d.jpg"})));
    json normal = json::array();
    for (const auto& f : ListFiles(abs + "/snapshots/normal", ".jpg")) normal.push_back(rel + "/snapshots/normal/" + f);
    (*m)["snapshots"] = normal;
    if (sprites) {
      VODFS_RETURN_IF_ERROR(MakeDirs(abs + "/snapshots/sprite"));
      VODFS_RETURN_IF_ERROR(MakeDirs(abs + "/snapshots/sprite-origin"));
      VODFS_RETURN_IF_ERROR(Run(Ff({"-i", src, "-vf", "fps=1,scale=160:90,tile=4x3", "-frames:v",
                                    "1", "-q:v", "4", abs + "/snapshots/sprite/0001.jpg"})));
      VODFS_RETURN_IF_ERROR(Run(Ff({"-i", src, "-vf", "fps=1,scale=160:90", "-q:v", "5",
                                    abs + "/snapshots/sprite-origin/%04d.jpg"})));
      (*m)["sprites"] = json::array({rel + "/snapshots/sprite/0001.jpg"});
      json origins = json::array();
      for (const auto& f : ListFiles(abs + "/snapshots/sprite-origin", ".jpg"))
        origins.push_back(rel + "/snapshots/sprite-origin/" + f);
      (*m)["sprite_originals"] = origins;
    }
    return Status::Ok();
  }

  Status MakeAudio(int64_t t) {
    const std::string id = DemoId("podcast");
    const std::string rel = "media/" + id;
    const std::string abs = dir_ + "/" + rel;
    VODFS_RETURN_IF_ERROR(MakeDirs(abs));
    VODFS_RETURN_IF_ERROR(Run(Ff({"-f", "lavfi", "-i", "sine=frequency=330:sample_rate=44100:duration=8",
                                  "-c:a", "libmp3lame", "-b:a", "128k", abs + "/source.mp3"})));
    VODFS_RETURN_IF_ERROR(Run(Ff({"-i", abs + "/source.mp3", "-c:a", "libmp3lame", "-b:a", "64k",
                                  abs + "/SQ.mp3"})));
    json sq = StreamJson("SQ", "mp3", rel + "/SQ.mp3", 0, 0, 8);
    sq["stream_type"] = "audio";
    root_["media"].push_back({{"id", id},
                              {"type", "audio"},
                              {"title", "Podcast: episode 1"},
                              {"tags", "demo,audio"},
                              {"cate_id", 1200},
                              {"status", "Normal"},
                              {"creation_time", timefmt::FormatIso8601(t)},
                              {"modification_time", timefmt::FormatIso8601(t + 300)},
                              {"duration", 8},
                              {"source", {{"file", rel + "/source.mp3"}, {"file_name", "episode-1.mp3"}}},
                              {"streams", json::array({sq})}});
    return Status::Ok();
  }

  Status MakeImages(int64_t t) {
    struct Img {
      const char* key;
      const char* title;
      const char* ext;
      const char* src;
    };
    const Img imgs[] = {{"logo", "Channel logo", "png", "testsrc=size=400x300"},
                        {"poster", "Poster: summer/2024", "jpg", "smptehdbars=size=800x450"}};
    for (const auto& img : imgs) {
      const std::string id = DemoId(std::string("image-") + img.key);
      const std::string file = "images/" + id + "." + img.ext;
      VODFS_RETURN_IF_ERROR(Run(Ff({"-f", "lavfi", "-i", img.src, "-frames:v", "1", dir_ + "/" + file})));
      root_["images"].push_back({{"id", id},
                                 {"title", img.title},
                                 {"file", file},
                                 {"image_type", "default"},
                                 {"cate_id", 1000},
                                 {"creation_time", timefmt::FormatIso8601(t)},
                                 {"original_file_name", std::string(img.key) + "." + img.ext}});
      t += 60;
    }
    return Status::Ok();
  }

  std::string dir_;
  json root_ = {{"media", json::array()}, {"images", json::array()}};
};

}  // namespace

Status MakeDemoLibrary(const std::string& dir) {
  struct stat st {};
  if (::stat((dir + "/manifest.json").c_str(), &st) == 0) return Status::Ok();
  Maker maker(dir);
  return maker.Make();
}

}  // namespace vodfs::emu
