// Clang's thread-safety annotations (https://clang.llvm.org/docs/ThreadSafetyAnalysis.html),
// as LevelDB's port/thread_annotations.h and Abseil's ABSL_GUARDED_BY: a field marked
// GUARDED_BY(mu_) read or written without holding mu_ is a compile error in the `tsa`
// build (clang, -Wthread-safety -Werror; `make lint` runs it). The macros expand to
// nothing on other compilers, so GCC builds see plain declarations.
//
// Use them with common/mutex.h's Mutex, MutexLock and CondVar (std::mutex carries no
// annotations in libstdc++, so locks taken through it are invisible to the analysis).
//
// Debian's Abseil still defines some of these names itself (GUARDED_BY, PT_GUARDED_BY,
// ACQUIRED_AFTER/BEFORE, NO_THREAD_SAFETY_ANALYSIS in absl/base/internal/
// thread_annotations.h, which absl/status pulls in) as the same clang attributes. Its
// header is included first and a name it defines is not defined again, whichever of the
// two headers a file includes first.
//
// Thread-safety: macros only.
#pragma once

#include "absl/base/thread_annotations.h"

#if defined(__clang__)
#define INFERA_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define INFERA_THREAD_ANNOTATION(x)  // no-op
#endif

// A type that is a lock (a "capability"); `x` names the kind in messages ("mutex").
#ifndef CAPABILITY
#define CAPABILITY(x) INFERA_THREAD_ANNOTATION(capability(x))
#endif

// An RAII type that holds a capability for its lifetime (MutexLock).
#ifndef SCOPED_CAPABILITY
#define SCOPED_CAPABILITY INFERA_THREAD_ANNOTATION(scoped_lockable)
#endif

// A field that may be read or written only with `x` held.
#ifndef GUARDED_BY
#define GUARDED_BY(x) INFERA_THREAD_ANNOTATION(guarded_by(x))
#endif

// A pointer field whose pointee may be read or written only with `x` held.
#ifndef PT_GUARDED_BY
#define PT_GUARDED_BY(x) INFERA_THREAD_ANNOTATION(pt_guarded_by(x))
#endif

// Lock ordering: this lock is taken after / before the named ones.
#ifndef ACQUIRED_AFTER
#define ACQUIRED_AFTER(...) INFERA_THREAD_ANNOTATION(acquired_after(__VA_ARGS__))
#endif
#ifndef ACQUIRED_BEFORE
#define ACQUIRED_BEFORE(...) INFERA_THREAD_ANNOTATION(acquired_before(__VA_ARGS__))
#endif

// A function that must be called with the capabilities held (exclusively / shared).
#ifndef REQUIRES
#define REQUIRES(...) INFERA_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#endif
#ifndef REQUIRES_SHARED
#define REQUIRES_SHARED(...) INFERA_THREAD_ANNOTATION(requires_shared_capability(__VA_ARGS__))
#endif

// A function that acquires / releases the capabilities (no argument: `this`).
#ifndef ACQUIRE
#define ACQUIRE(...) INFERA_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#endif
#ifndef ACQUIRE_SHARED
#define ACQUIRE_SHARED(...) INFERA_THREAD_ANNOTATION(acquire_shared_capability(__VA_ARGS__))
#endif
#ifndef RELEASE
#define RELEASE(...) INFERA_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#endif
#ifndef RELEASE_SHARED
#define RELEASE_SHARED(...) INFERA_THREAD_ANNOTATION(release_shared_capability(__VA_ARGS__))
#endif
#ifndef RELEASE_GENERIC
#define RELEASE_GENERIC(...) INFERA_THREAD_ANNOTATION(release_generic_capability(__VA_ARGS__))
#endif

// A function that tries to acquire; the first argument is the return value on success.
#ifndef TRY_ACQUIRE
#define TRY_ACQUIRE(...) INFERA_THREAD_ANNOTATION(try_acquire_capability(__VA_ARGS__))
#endif
#ifndef TRY_ACQUIRE_SHARED
#define TRY_ACQUIRE_SHARED(...) INFERA_THREAD_ANNOTATION(try_acquire_shared_capability(__VA_ARGS__))
#endif

// A function that must be called without the capabilities held (it takes them).
#ifndef EXCLUDES
#define EXCLUDES(...) INFERA_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
#endif

// A function that checks at run time that the capability is held; the analysis then
// assumes it is.
#ifndef ASSERT_CAPABILITY
#define ASSERT_CAPABILITY(x) INFERA_THREAD_ANNOTATION(assert_capability(x))
#endif
#ifndef ASSERT_SHARED_CAPABILITY
#define ASSERT_SHARED_CAPABILITY(x) INFERA_THREAD_ANNOTATION(assert_shared_capability(x))
#endif

// A function that returns the capability `x` (an accessor of a lock).
#ifndef RETURN_CAPABILITY
#define RETURN_CAPABILITY(x) INFERA_THREAD_ANNOTATION(lock_returned(x))
#endif

// Turns the analysis off for one function (say why at the use).
#ifndef NO_THREAD_SAFETY_ANALYSIS
#define NO_THREAD_SAFETY_ANALYSIS INFERA_THREAD_ANNOTATION(no_thread_safety_analysis)
#endif
