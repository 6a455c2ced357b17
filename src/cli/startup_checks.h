// Checks made before mounting, so that a mistake is an error message at the
// prompt rather than a drive that misbehaves later: a mount point that is
// not a directory (the mount would "succeed" and then answer EIO), a
// non-empty one (its files would silently vanish under the mount, which
// s3fs and ossfs refuse as well unless -o nonempty), a dead FUSE mount left
// behind; and warnings for settings that will not do what they seem to.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "cli/options.h"
#include "vodfs/util/result.h"

namespace vodfs::cli {

// OK when `path` is a directory vodfs may mount on: it exists, is a
// directory, is not a disconnected FUSE mount, and is empty unless
// `nonempty`. A directory vodfs cannot list (another user's) is left for the
// kernel to judge. Errors say what to do (kNotFound, kNotADirectory,
// kFailedPrecondition).
Status CheckMountPoint(const std::string& path, bool nonempty);

// Warnings for the mount's options, one sentence each:
//  - uid/gid naming someone else without allow_other: the kernel lets only
//    the mounting user in, so the owner named gets "Permission denied";
//  - a --config file holding a secret that its group or others may read.
// `self_uid`/`self_gid` are the mounting user's (getuid()/getgid()).
std::vector<std::string> MountWarnings(const Options& o, uid_t self_uid, gid_t self_gid);

// The warning for a config file holding a secret readable by others, if it
// is one ("" otherwise). Shared by the mount and vodfs check/api.
std::string ConfigFileWarning(const Options& o);

}  // namespace vodfs::cli
