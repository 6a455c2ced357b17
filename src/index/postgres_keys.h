// The advisory locks and the notification channel of an index on
// PostgreSQL. Private to the index module.
//
// Advisory locks are scoped to one database, so these constants never meet
// another library's (one database per library). The two-int form is used
// so that pg_locks shows them as (classid, objid) = (space, lock).
#pragma once

#include <cstdint>

namespace vodfs::index {

inline constexpr int32_t kPgLockSpace = 0x766f6466;  // "vodf"
// Held for a session by the process that syncs (Database::TryLockWriter).
inline constexpr int32_t kPgSyncLock = 1;
// Held for a transaction by every write transaction (Transaction::Begin).
inline constexpr int32_t kPgWriteLock = 2;
// LISTEN/NOTIFY channel of change-log announcements (payload: the seq).
inline constexpr const char* kPgChannel = "vodfs_index";

}  // namespace vodfs::index
