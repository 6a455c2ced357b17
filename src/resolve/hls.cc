#include "vodfs/resolve/hls.h"

#include "vodfs/util/strings.h"

namespace vodfs::resolve {

HlsPlaylist ParseHlsPlaylist(std::string_view text) {
  HlsPlaylist p;
  double pending = 0;
  for (const auto& raw : str::Split(text, '\n')) {
    std::string_view line = str::Trim(raw);
    if (line.empty()) continue;
    if (line[0] == '#') {
      if (str::StartsWith(line, "#EXTINF:")) {
        std::string_view v = line.substr(8);
        v = v.substr(0, v.find(','));
        pending = str::ParseDouble(v).value_or(0);
      } else if (str::StartsWith(line, "#EXT-X-STREAM-INF")) {
        p.is_master = true;
      }
      continue;
    }
    if (p.is_master) continue;  // variant playlist URIs, not segments
    p.segments.push_back({std::string(line), pending});
    pending = 0;
  }
  if (p.is_master) p.segments.clear();
  return p;
}

std::string RewriteHlsPlaylist(std::string_view text, const std::vector<std::string>& local_names) {
  std::string out;
  size_t seg = 0;
  for (const auto& raw : str::Split(text, '\n')) {
    std::string_view line = str::Trim(raw);
    if (!line.empty() && line[0] != '#') {
      out += seg < local_names.size() ? local_names[seg] : std::string(line.substr(0, line.find('?')));
      ++seg;
    } else {
      out += std::string(line);
    }
    out += "\n";
  }
  while (out.size() >= 2 && out[out.size() - 1] == '\n' && out[out.size() - 2] == '\n') out.pop_back();
  return out;
}

}  // namespace vodfs::resolve
