#include "vodfs/auth/credentials.h"

#include "vodfs/util/log.h"

namespace vodfs::auth {

StaticCredentialsProvider::StaticCredentialsProvider(Credentials c) : creds_(std::move(c)) {
  if (creds_.source.empty()) creds_.source = "static";
  log::RegisterSecret(creds_.access_key_secret);
  log::RegisterSecret(creds_.security_token);
}

}  // namespace vodfs::auth
