// A temporary directory removed (recursively) when the object dies.
#pragma once

#include <string>

namespace vodfs::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  // Writes `data` to path()/rel, creating parent directories.
  void Write(const std::string& rel, const std::string& data) const;

 private:
  std::string path_;
};

// Reads a whole file; empty string if missing.
std::string ReadFile(const std::string& path);

}  // namespace vodfs::testing
