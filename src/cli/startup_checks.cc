#include "cli/startup_checks.h"

#include <dirent.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

namespace vodfs::cli {

Status CheckMountPoint(const std::string& path, bool nonempty) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    const int err = errno;
    if (err == ENOENT) {
      return Status(ErrorCode::kNotFound, "the mount point " + path + " does not exist (mkdir -p " + path + ")");
    }
    if (err == ENOTCONN) {
      // A FUSE mount whose process died: the kernel still has it.
      return Status(ErrorCode::kFailedPrecondition, "the mount point " + path +
                                                        " is a disconnected FUSE mount; unmount it first "
                                                        "(fusermount3 -u " + path + ")");
    }
    return Status(ErrorCode::kFailedPrecondition, "Cannot use the mount point " + path + ": " + std::strerror(err));
  }
  if (!S_ISDIR(st.st_mode)) {
    return Status(ErrorCode::kNotADirectory, "the mount point " + path + " is not a directory");
  }
  if (nonempty) return Status::Ok();
  std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir(path.c_str()), &::closedir);
  if (!dir) return Status::Ok();  // not ours to list: the mount itself decides
  while (const dirent* e = ::readdir(dir.get())) {
    if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
    return Status(ErrorCode::kFailedPrecondition,
                  "the mount point " + path + " is not empty (its files would be hidden while vodfs is "
                  "mounted); mount on an empty directory, or pass -o nonempty to mount over them");
  }
  return Status::Ok();
}

std::string ConfigFileWarning(const Options& o) {
  if (o.config.empty() || !o.config_holds_secret) return "";
  struct stat st {};
  if (::stat(o.config.c_str(), &st) != 0 || (st.st_mode & 077) == 0) return "";
  char mode[8];
  std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(st.st_mode & 07777));
  return "the config file " + o.config + " holds a secret and is readable by others (mode " + mode +
         "); chmod 600 " + o.config;
}

std::vector<std::string> MountWarnings(const Options& o, uid_t self_uid, gid_t self_gid) {
  std::vector<std::string> out;
  if (!o.allow_other) {
    if (o.uid && *o.uid != self_uid) {
      out.push_back("uid=" + std::to_string(*o.uid) +
                    " without allow_other: the kernel lets only the mounting user (uid " + std::to_string(self_uid) +
                    ") into the mount, so that user gets \"Permission denied\"; add -o allow_other");
    } else if (o.gid && *o.gid != self_gid) {
      out.push_back("gid=" + std::to_string(*o.gid) +
                    " without allow_other: the kernel lets only the mounting user (uid " + std::to_string(self_uid) +
                    ") into the mount, so the group's other members get \"Permission denied\"; add -o allow_other");
    }
  }
  if (std::string w = ConfigFileWarning(o); !w.empty()) out.push_back(w);
  return out;
}

}  // namespace vodfs::cli
