// Mutex, MutexLock, CondVar: a std::mutex and a condition variable that clang's
// thread-safety analysis understands (as LevelDB's port::Mutex / port::CondVar), so
// fields declared GUARDED_BY(mu_) are checked at compile time in the `tsa` build;
// SharedMutex with ReaderMutexLock / WriterMutexLock, the same over std::shared_mutex.
//
//   mutable Mutex mu_;
//   CondVar cv_;
//   std::deque<Task> tasks_ GUARDED_BY(mu_);
//   ...
//   MutexLock lock(&mu_);
//   while (tasks_.empty()) cv_.Wait(&mu_);
//
// Waits are written as loops around Wait (not predicate lambdas): the analysis does not
// know that a lambda runs with the lock held.
//
// Thread-safety: Mutex and CondVar are thread-safe (that is their job). A MutexLock
// belongs to the thread that made it. Mutex is not recursive: locking it twice on one
// thread deadlocks. CondVar waits must hold the mutex they are given.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <shared_mutex>

#include "common/thread_annotations.h"

namespace infera {

class CAPABILITY("mutex") Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() ACQUIRE() { mu_.lock(); }
  void Unlock() RELEASE() { mu_.unlock(); }
  // TryLock: takes the lock when it is free; false (without waiting) when it is not.
  bool TryLock() TRY_ACQUIRE(true) { return mu_.try_lock(); }
  // AssertHeld: tells the analysis that the caller holds the lock (where it cannot see
  // it: a callback run under the lock). Checks nothing at run time (std::mutex cannot).
  void AssertHeld() const ASSERT_CAPABILITY(this) {}

 private:
  friend class CondVar;
  std::mutex mu_;
};

// MutexLock: holds `mu` from construction to destruction.
class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex* mu) ACQUIRE(mu) : mu_(mu) { mu_->Lock(); }
  ~MutexLock() RELEASE() { mu_->Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex* const mu_;
};

// SharedMutex: a reader/writer lock over std::shared_mutex, for state read far more
// often than written (the model registry): any number of readers, or one writer.
class CAPABILITY("mutex") SharedMutex {
 public:
  SharedMutex() = default;
  SharedMutex(const SharedMutex&) = delete;
  SharedMutex& operator=(const SharedMutex&) = delete;

  void Lock() ACQUIRE() { mu_.lock(); }
  void Unlock() RELEASE() { mu_.unlock(); }
  void ReaderLock() ACQUIRE_SHARED() { mu_.lock_shared(); }
  void ReaderUnlock() RELEASE_SHARED() { mu_.unlock_shared(); }

 private:
  std::shared_mutex mu_;
};

// WriterMutexLock: holds `mu` exclusively from construction to destruction.
class SCOPED_CAPABILITY WriterMutexLock {
 public:
  explicit WriterMutexLock(SharedMutex* mu) ACQUIRE(mu) : mu_(mu) { mu_->Lock(); }
  ~WriterMutexLock() RELEASE() { mu_->Unlock(); }
  WriterMutexLock(const WriterMutexLock&) = delete;
  WriterMutexLock& operator=(const WriterMutexLock&) = delete;

 private:
  SharedMutex* const mu_;
};

// ReaderMutexLock: holds `mu` shared from construction to destruction.
class SCOPED_CAPABILITY ReaderMutexLock {
 public:
  explicit ReaderMutexLock(SharedMutex* mu) ACQUIRE_SHARED(mu) : mu_(mu) { mu_->ReaderLock(); }
  ~ReaderMutexLock() RELEASE() { mu_->ReaderUnlock(); }
  ReaderMutexLock(const ReaderMutexLock&) = delete;
  ReaderMutexLock& operator=(const ReaderMutexLock&) = delete;

 private:
  SharedMutex* const mu_;
};

// CondVar: a condition variable used with a Mutex (as absl::CondVar: the mutex is an
// argument of each wait, so the analysis checks that the caller holds it). Wait*
// release `mu` while they wait and hold it again when they return, spurious wake-ups
// included: wait in a loop. Every concurrent wait on one CondVar must pass the same
// Mutex.
class CondVar {
 public:
  CondVar() = default;
  CondVar(const CondVar&) = delete;
  CondVar& operator=(const CondVar&) = delete;

  void Wait(Mutex* mu) REQUIRES(mu) {
    std::unique_lock<std::mutex> lock(mu->mu_, std::adopt_lock);
    cv_.wait(lock);
    lock.release();  // still held: the caller's
  }

  // WaitUntil: waits for a signal or until `deadline`; true when the deadline passed
  // (std::cv_status::timeout).
  template <typename Clock, typename Duration>
  bool WaitUntil(Mutex* mu, const std::chrono::time_point<Clock, Duration>& deadline) REQUIRES(mu) {
    std::unique_lock<std::mutex> lock(mu->mu_, std::adopt_lock);
    const std::cv_status status = cv_.wait_until(lock, deadline);
    lock.release();
    return status == std::cv_status::timeout;
  }

  // WaitFor: waits for a signal or for `timeout`; true when the time ran out.
  template <typename Rep, typename Period>
  bool WaitFor(Mutex* mu, const std::chrono::duration<Rep, Period>& timeout) REQUIRES(mu) {
    std::unique_lock<std::mutex> lock(mu->mu_, std::adopt_lock);
    const std::cv_status status = cv_.wait_for(lock, timeout);
    lock.release();
    return status == std::cv_status::timeout;
  }

  // Signal wakes one waiter, SignalAll every waiter; either may be called with or
  // without the mutex held.
  void Signal() { cv_.notify_one(); }
  void SignalAll() { cv_.notify_all(); }

 private:
  std::condition_variable cv_;
};

}  // namespace infera
