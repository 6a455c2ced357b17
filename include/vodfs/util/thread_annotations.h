// Clang thread-safety annotations (no-ops elsewhere). See LevelDB's
// port/thread_annotations.h for the idea.
#pragma once

#if defined(__clang__)
#define VODFS_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define VODFS_THREAD_ANNOTATION(x)
#endif

#define GUARDED_BY(x) VODFS_THREAD_ANNOTATION(guarded_by(x))
#define PT_GUARDED_BY(x) VODFS_THREAD_ANNOTATION(pt_guarded_by(x))
#define REQUIRES(...) VODFS_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define EXCLUDES(...) VODFS_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
