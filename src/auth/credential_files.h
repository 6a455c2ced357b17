// The credential files of the Alibaba Cloud chain (credential_chain.h),
// parsed from their text: ~/.alibabacloud/credentials (INI) and the aliyun
// CLI's ~/.aliyun/config.json (JSON). Reading the files, and warning about
// their modes, stays with the chain; these are pure functions over text a
// user (or anyone who can write the files) wrote, so they never throw.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "vodfs/util/result.h"

namespace vodfs::auth {

// section -> key -> value. Keys and values are trimmed; lines before any
// [section] belong to section "".
using IniSections = std::map<std::string, std::map<std::string, std::string>>;

// Minimal INI reader of what credentials-go (go-ini) accepts: [section] and
// key = value lines, '#'/';' comment lines, and inline comments: an unquoted
// value ends at its first '#' or ';' ("type = access_key # AK" is
// "access_key"); a value in "..." or `...` is kept whole. Other lines are
// ignored. A later key replaces an earlier one.
IniSections ParseIni(std::string_view text);
// One value as ParseIni reads it (trimmed, unquoted, inline comment cut).
std::string IniValue(std::string_view raw);

// One profile of config.json: its name and its string-valued fields (and
// integers, as their text)
// ("mode", "access_key_id", "ram_role_name", "region_id", ...).
struct CliProfile {
  std::string name;
  bool found = false;  // false: no profile of that name in the file
  std::map<std::string, std::string> fields;

  // The field's value, "" when the profile has no such string field.
  std::string Field(const std::string& key) const;
};

// Finds the profile `wanted` names in config.json's text; an empty `wanted`
// is the file's "current" profile, or "default". An error (kInvalidArgument)
// only if the text is not a JSON object.
Result<CliProfile> ParseCliConfig(std::string_view text, const std::string& wanted);

}  // namespace vodfs::auth
