#include "ns/info_json.h"

#include <nlohmann/json.hpp>

#include "vodfs/util/time_format.h"

namespace vodfs::ns {

using nlohmann::json;

namespace {

std::string Time(int64_t t) { return t ? timefmt::FormatIso8601(t) : ""; }

}  // namespace

std::string RenderInfoJson(const index::MediaRecord& m, const InfoParts& parts) {
  json doc = {{"VideoId", m.id},
              {"MediaType", m.kind == index::MediaKind::kAudio ? "audio" : "video"},
              {"Title", m.title},
              {"Description", m.description},
              {"Tags", m.tags},
              {"Status", m.status},
              {"CateId", m.cate_id},
              {"CateName", m.cate_name},
              {"Duration", m.duration},
              {"StorageClass", m.storage_class},
              {"CreationTime", Time(m.creation_time)},
              {"ModificationTime", Time(m.modification_time)}};
  if (parts.source) {
    const auto& [file, mz] = *parts.source;
    doc["Source"] = {{"File", file},          {"FileName", mz.file_name}, {"Size", mz.size},
                     {"Width", mz.width},     {"Height", mz.height},      {"Bitrate", mz.bitrate},
                     {"Fps", mz.fps},         {"Duration", mz.duration}};
  }
  json streams = json::array();
  for (const auto& [file, s] : parts.streams) {
    streams.push_back({{"File", file},
                       {"Definition", s.definition},
                       {"Format", s.format},
                       {"StreamType", s.stream_type},
                       {"Size", s.size},
                       {"Bitrate", s.bitrate},
                       {"Width", s.width},
                       {"Height", s.height},
                       {"Fps", s.fps},
                       {"Duration", s.duration},
                       {"Encrypt", s.encrypt},
                       {"EncryptType", s.encrypt_type},
                       {"JobId", s.job_id},
                       {"Status", s.status},
                       {"CodecName", s.codec_name},
                       {"CreationTime", Time(s.creation_time)}});
  }
  doc["Streams"] = streams;
  if (parts.snapshots) doc["Snapshots"] = parts.snapshots;
  if (parts.sprites) doc["Sprites"] = parts.sprites;
  return doc.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace vodfs::ns
