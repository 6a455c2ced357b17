// Clang thread-safety annotations (no-ops elsewhere). See LevelDB's
// port/thread_annotations.h and abseil's base/thread_annotations.h.
#pragma once

#if defined(__clang__)
#define VODFS_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define VODFS_THREAD_ANNOTATION(x)
#endif

#define CAPABILITY(x) VODFS_THREAD_ANNOTATION(capability(x))
#define SCOPED_CAPABILITY VODFS_THREAD_ANNOTATION(scoped_lockable)
#define GUARDED_BY(x) VODFS_THREAD_ANNOTATION(guarded_by(x))
#define PT_GUARDED_BY(x) VODFS_THREAD_ANNOTATION(pt_guarded_by(x))
#define ACQUIRED_BEFORE(...) VODFS_THREAD_ANNOTATION(acquired_before(__VA_ARGS__))
#define ACQUIRED_AFTER(...) VODFS_THREAD_ANNOTATION(acquired_after(__VA_ARGS__))
#define REQUIRES(...) VODFS_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define REQUIRES_SHARED(...) VODFS_THREAD_ANNOTATION(requires_shared_capability(__VA_ARGS__))
#define ACQUIRE(...) VODFS_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define RELEASE(...) VODFS_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define TRY_ACQUIRE(...) VODFS_THREAD_ANNOTATION(try_acquire_capability(__VA_ARGS__))
#define EXCLUDES(...) VODFS_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
#define ASSERT_CAPABILITY(x) VODFS_THREAD_ANNOTATION(assert_capability(x))
#define RETURN_CAPABILITY(x) VODFS_THREAD_ANNOTATION(lock_returned(x))
#define NO_THREAD_SAFETY_ANALYSIS VODFS_THREAD_ANNOTATION(no_thread_safety_analysis)
