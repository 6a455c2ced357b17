#include "support/mini_library.h"

#include <nlohmann/json.hpp>

namespace vodfs::testing {

using nlohmann::json;

std::string MiniContent(const std::string& name, size_t size) {
  std::string out;
  out.reserve(size);
  uint64_t x = 1469598103934665603ULL;
  for (char c : name) x = (x ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
  while (out.size() < size) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    out.push_back(static_cast<char>(x & 0xff));
  }
  return out;
}

MiniLibraryIds WriteMiniLibrary(const TempDir& dir) {
  MiniLibraryIds ids;
  ids.full = "aaaa0000000000000000000000000001";
  ids.invisible = "aaaa0000000000000000000000000002";
  ids.encrypted = "aaaa0000000000000000000000000003";
  ids.transcoding = "aaaa0000000000000000000000000004";
  ids.failed = "aaaa0000000000000000000000000005";
  ids.audio = "aaaa0000000000000000000000000006";
  ids.slash = "aaaa0000000000000000000000000007";
  ids.image1 = "bbbb0000000000000000000000000001";
  ids.image2 = "bbbb0000000000000000000000000002";

  auto file = [&dir](const std::string& rel, size_t size) {
    dir.Write(rel, MiniContent(rel, size));
    return rel;
  };
  json media = json::array();
  // Full video.
  {
    const std::string d = "m/" + ids.full + "/";
    dir.Write(d + "hls/index.m3u8",
              "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n"
              "#EXTINF:2.000,\nseg-000.ts\n#EXTINF:2.000,\nseg-001.ts\n#EXTINF:1.500,\nseg-002.ts\n"
              "#EXT-X-ENDLIST\n");
    file(d + "hls/seg-000.ts", 18800);
    file(d + "hls/seg-001.ts", 18800);
    file(d + "hls/seg-002.ts", 9400);
    media.push_back(
        {{"id", ids.full}, {"title", "Full video"}, {"tags", "a,b"}, {"cate_id", 111},
         {"creation_time", "2024-01-01T00:00:00Z"}, {"modification_time", "2024-01-01T01:00:00Z"},
         {"duration", 5.5}, {"width", 1280}, {"height", 720}, {"fps", "25"}, {"bitrate", "2000"},
         {"source", {{"file", file(d + "source.mp4", 300000)}, {"file_name", "master.mp4"}}},
         {"streams",
          json::array({{{"definition", "LD"}, {"format", "mp4"}, {"file", file(d + "LD.mp4", 50000)},
                        {"width", 320}, {"height", 180}, {"bitrate", 400.5}, {"fps", "25"}},
                       {{"definition", "HD"}, {"format", "mp4"}, {"file", file(d + "HD.mp4", 150000)},
                        {"width", 1280}, {"height", 720}, {"bitrate", 1800}, {"fps", "25"}},
                       {{"definition", "SD"}, {"format", "m3u8"}, {"playlist", d + "hls/index.m3u8"},
                        {"segments", {"seg-000.ts", "seg-001.ts", "seg-002.ts"}}},
                       {{"definition", "SQ"}, {"format", "mp3"}, {"file", file(d + "SQ.mp3", 20000)},
                        {"stream_type", "audio"}}})},
         {"cover", file(d + "cover.jpg", 5000)},
         {"snapshots", {file(d + "s1.jpg", 3000), file(d + "s2.jpg", 3001), file(d + "s3.jpg", 3002)}},
         {"sprites", {file(d + "sprite1.jpg", 9000)}},
         {"sprite_originals", {file(d + "o1.jpg", 1000), file(d + "o2.jpg", 1001)}}});
  }
  // A newer and an older (Invisible) LD stream.
  {
    const std::string d = "m/" + ids.invisible + "/";
    media.push_back(
        {{"id", ids.invisible}, {"title", "Has an older stream"}, {"cate_id", 11},
         {"creation_time", "2024-01-02T00:00:00Z"}, {"duration", 3},
         {"source", {{"file", file(d + "source.mp4", 40000)}}},
         {"streams",
          json::array({{{"definition", "LD"}, {"format", "mp4"}, {"file", file(d + "LD.mp4", 8000)}},
                       {{"definition", "LD"}, {"format", "mp4"}, {"file", file(d + "LD-old.mp4", 7000)},
                        {"status", "Invisible"}}})}});
  }
  {
    const std::string d = "m/" + ids.encrypted + "/";
    media.push_back(
        {{"id", ids.encrypted}, {"title", "Encrypted only"}, {"cate_id", 1},
         {"creation_time", "2024-01-03T00:00:00Z"},
         {"source", {{"file", file(d + "source.mp4", 30000)}}},
         {"streams", json::array({{{"definition", "HD"}, {"format", "m3u8"},
                                   {"playlist", [&] {
                                      dir.Write(d + "enc/index.m3u8", "#EXTM3U\n#EXTINF:1,\nx.ts\n#EXT-X-ENDLIST\n");
                                      return d + "enc/index.m3u8";
                                    }()},
                                   {"segments", {"x.ts"}},
                                   {"encrypt_type", "AliyunVoDEncryption"}}})}});
    file(d + "enc/x.ts", 1880);
  }
  {
    const std::string d = "m/" + ids.transcoding + "/";
    media.push_back({{"id", ids.transcoding}, {"title", "Transcoding"}, {"status", "Transcoding"},
                     {"creation_time", "2024-01-04T00:00:00Z"},
                     {"source", {{"file", file(d + "source.mp4", 20000)}}}});
  }
  media.push_back({{"id", ids.failed}, {"title", "Failed"}, {"status", "UploadFail"},
                   {"creation_time", "2024-01-05T00:00:00Z"}});
  {
    const std::string d = "m/" + ids.audio + "/";
    media.push_back({{"id", ids.audio}, {"type", "audio"}, {"title", "An audio"}, {"cate_id", 2},
                     {"creation_time", "2024-01-06T00:00:00Z"}, {"duration", 9},
                     {"source", {{"file", file(d + "source.mp3", 30000)}}},
                     {"streams", json::array({{{"definition", "SQ"}, {"format", "mp3"},
                                               {"file", file(d + "SQ.mp3", 15000)},
                                               {"stream_type", "audio"}}})}});
  }
  {
    const std::string d = "m/" + ids.slash + "/";
    media.push_back({{"id", ids.slash}, {"title", "a/b: c"}, {"creation_time", "2024-01-07T00:00:00Z"},
                     {"source", {{"file", file(d + "source.mp4", 10000)}}},
                     {"streams", json::array({{{"definition", "LD"}, {"format", "mp4"},
                                               {"file", file(d + "LD.mp4", 5000)}}})}});
  }
  json images = json::array(
      {{{"id", ids.image1}, {"title", "Logo"}, {"file", file("img/1.png", 4000)}, {"width", 40},
        {"height", 30}, {"creation_time", "2024-02-01T00:00:00Z"}, {"cate_id", 1}},
       {{"id", ids.image2}, {"title", "Poster"}, {"file", file("img/2.jpg", 6000)},
        {"creation_time", "2024-02-02T00:00:00Z"}}});
  json cats = json::array({{{"id", 1}, {"name", "Top"}, {"level", 0}},
                           {{"id", 2}, {"name", "Other"}, {"level", 0}},
                           {{"id", 11}, {"name", "Mid"}, {"level", 1}, {"parent_id", 1}},
                           {{"id", 111}, {"name", "Leaf"}, {"level", 2}, {"parent_id", 11}}});
  dir.Write("manifest.json",
            json{{"media", media}, {"images", images}, {"categories", cats}}.dump(2));
  return ids;
}

}  // namespace vodfs::testing
