// vodfs options: one table drives parsing (--name value, --name=value,
// -o name=value,..., config file lines), --help and docs/CONFIGURATION.md.
//
// Precedence: command line > config file (--config FILE) > defaults.
// Credentials additionally come from the Alibaba Cloud chain when no
// access_key_id/credentials_command option is given.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vodfs/util/result.h"

namespace vodfs::cli {

struct Options {
  // Positional: SOURCE (region, "vod:REGION" or an API endpoint URL) and
  // MOUNTPOINT, or the arguments of a subcommand.
  std::vector<std::string> positional;
  std::string config;
  bool config_holds_secret = false;  // the config file sets a secret option

  // API and credentials.
  std::string region;
  std::string endpoint;
  std::string profile;
  std::string access_key_id;
  std::string access_key_secret;
  std::string security_token;
  std::string credentials_command;
  std::string imds_endpoint = "http://100.100.100.200";
  std::string sts_endpoint;       // empty: the credential chain's default
  std::string role_arn;           // assume this role on top of the credentials
  std::string role_session_name;
  std::string signature_version = "v2";
  std::string api_method = "POST";
  double qps_scale = 1.0;
  std::string ca_file;
  std::string ca_path;
  std::string user_agent;

  // Media URLs.
  std::string output_type = "cdn";
  int64_t auth_timeout = 3600;
  std::string cdn_auth_key;
  std::string cdn_auth_type = "auto";
  int64_t cdn_auth_delta = 1800;
  std::string referer;
  std::string media_user_agent;
  int64_t retry_budget = 45;   // seconds a read retries without a byte before EIO
  int64_t stall_timeout = 15;  // seconds of silence that abandon a transfer

  // What the tree shows.
  std::string name_scheme = "title-id";
  bool all_streams = false;

  // The library index.
  std::string index;                 // empty = <cache_dir>/index.db
  int64_t sync_interval = 300;       // seconds between incremental syncs
  int64_t full_sync_interval = 86400;
  int64_t details_ttl = 86400;
  bool full = false;                 // vodfs index sync: a full listing

  // Mounting.
  bool foreground = false;
  bool debug = false;
  bool single_thread = false;
  bool allow_other = false;
  bool allow_root = false;
  std::optional<uint32_t> uid;
  std::optional<uint32_t> gid;
  uint32_t umask = 0022;
  double attr_timeout = 60;
  double entry_timeout = 60;
  double negative_timeout = 5;
  std::string fsname;
  // Permission bits of files and directories before umask (read-only either
  // way: write bits, if given, only let the kernel's checks pass to EROFS).
  uint32_t file_mode = 0444;
  uint32_t dir_mode = 0555;
  bool nonempty = false;      // mount over a non-empty directory
  bool auto_unmount = false;  // fusermount3 unmounts if vodfs dies

  // Read engine.
  uint64_t block_size = 64 << 10;
  // The memory tier holds blocks in flight and the few just read: the
  // kernel's page cache keeps what readers read and the disk tier what was
  // fetched, so a larger tier mostly holds third copies. In flight, one
  // sequential reader needs its read-ahead window, which grows only while
  // the reader waits for the link (a 500 MiB/s link with 20 ms round trips
  // needs 10 MiB; windows stop at readahead_max). 96 MiB holds four such
  // readers at once plus random reads, and keeps a daemon serving one reader
  // under 128 MiB resident. Many concurrent readers want memory_cache_size
  // raised (docs/CONFIGURATION.md).
  uint64_t memory_cache_size = 96ULL << 20;
  std::string shared_cache;        // memcached://h1:11211,h2:11211 (empty: none)
  std::string cache_dir;           // empty = $XDG_CACHE_HOME/vodfs or ~/.cache/vodfs
  uint64_t disk_cache_size = 0;    // 0 = derived from free space; "off" disables
  bool disk_cache = true;
  uint64_t readahead_max = 32 << 20;
  int64_t max_parallel_fetches = 8;
  uint64_t kernel_readahead = 1 << 20;  // 0 = the kernel's default
  std::string metrics_address;  // e.g. 127.0.0.1:9464; empty = off

  // Logging.
  std::string log_level = "info";
  std::string log_file;
  std::string log_format = "text";

  bool help = false;
  bool version = false;
};

struct OptionDef {
  const char* name;     // canonical, with underscores (shown dashed: DashedName)
  const char* arg;      // placeholder for the value, nullptr for a flag
  const char* section;  // help section
  const char* help;
  std::function<Status(Options&, std::string_view value)> set;
  std::function<std::string(const Options&)> show;  // current value, for --help defaults
};

const std::vector<OptionDef>& OptionTable();
const OptionDef* FindOption(std::string_view name);

// Parses argv (without argv[0]). A --config file is read first, then the
// command line overrides it. Returns an error naming the bad option.
Result<Options> ParseArgs(const std::vector<std::string>& args);
// Applies "key = value" lines (used for --config files).
Status ApplyConfigText(Options& o, std::string_view text, const std::string& origin);
// Splits one -o argument ("a=1,b,c=x\,y") into key/value pairs.
std::vector<std::pair<std::string, std::optional<std::string>>> SplitMountOptions(std::string_view s);

// The spelling shown to people: "access-key-id" for "access_key_id". Both
// are accepted wherever an option is read.
std::string DashedName(std::string_view name);

// The option a mistyped name most likely meant ("acess-key-id" ->
// "access_key_id"), or nullptr when none is close: an edit distance of at
// most a third of the name's length (1 for short names).
const OptionDef* SuggestOption(std::string_view mistyped);

// The full --help text (the mount's, listing every option).
std::string HelpText();
// `vodfs COMMAND --help`: the command's usage and the options it reads.
// Unknown commands and "" get HelpText().
std::string CommandHelpText(std::string_view command);
// The commands that have their own help ("api", "check", ...).
const std::vector<std::string>& Commands();

}  // namespace vodfs::cli
