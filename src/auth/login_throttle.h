// LoginThrottle: slows down and then refuses password guessing, counting failed logins
// separately per username and per client address.
//
// Per key (a username or an address), failures form a streak. Once a streak reaches
// `free_failures`, the key is locked: each failure from then on locks it for
// base_lockout x 2^(failures - free_failures), capped at max_lockout. A streak is
// forgotten once `window` passes after the later of its last failure and the end of
// its lockout, with no new failure. RecordSuccess clears the user's key (not the
// address's: an attacker with one valid account must not reset their address's count
// by logging into it between guesses).
//
// Defaults (LoginThrottleOptions):
//   user:    5 free failures, then 30 s, 1 min, 2 min ... capped at 15 min; forgotten
//            after 15 min quiet. Capped short because anyone can fail logins for any
//            username: an attacker can keep a user locked only by failing continuously,
//            one lockout (<= 15 min) at a time, never beyond; the cost to them is at
//            most one guess per lockout.
//   address: 10 free failures (several people may share a NAT), then 1 min doubling to
//            a 1 h cap; forgotten after 1 h quiet. Stricter (longer lockouts and
//            memory) because locking an attacker's address harms no one else, and it
//            catches one address spraying a password across many usernames.
//
// Concurrent attempts: an allowed Check reserves a slot on both keys until the
// matching RecordFailure or RecordSuccess (or `attempt_timeout`, if the caller never
// reports). A key allows at most max(1, free_failures - failures) attempts in flight,
// so firing many requests in parallel before any of them fails gains nothing. Refused
// for that reason, Check returns retry_after = 1 s.
//
// Memory: each table (users, addresses) holds at most `max_keys` entries; inserting
// beyond evicts the least recently updated entry, and idle entries are dropped, so
// random usernames cannot exhaust memory (an evicted key starts afresh: an attacker
// must fail max_keys logins from unlocked addresses to evict one victim's entry).
// Keys longer than 128 bytes are stored as their SHA-256.
//
// Callers pass usernames normalised the way the user store compares them (else
// "Alice" and "alice" count separately) and addresses through ThrottleAddressKey. The
// username key must be checked whether or not the user exists, so the answer never
// reveals which usernames exist.
//
// Thread-safety: all methods are thread-safe (one internal Mutex; every
// operation is O(1) amortised). Time is injected (`now`, a steady_clock time point).
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "common/mutex.h"
#include "common/status.h"

namespace infera {

// ThrottlePolicy: the limits for one kind of key (see the file comment).
struct ThrottlePolicy {
  int free_failures = 5;
  std::chrono::seconds base_lockout{30};
  std::chrono::seconds max_lockout{15 * 60};
  std::chrono::seconds window{15 * 60};
};

struct LoginThrottleOptions {
  ThrottlePolicy user{5, std::chrono::seconds(30), std::chrono::minutes(15),
                      std::chrono::minutes(15)};
  ThrottlePolicy address{10, std::chrono::minutes(1), std::chrono::hours(1), std::chrono::hours(1)};
  // How long an allowed Check's reservation lasts when no Record* call follows.
  std::chrono::seconds attempt_timeout{30};
  // The most entries kept per table (users, addresses).
  size_t max_keys = 100000;
};

// ThrottleDecision: whether a login attempt may proceed; when not, the caller answers
// 429 with Retry-After: retry_after (whole seconds, >= 1).
struct ThrottleDecision {
  bool allowed = true;
  std::chrono::seconds retry_after{0};
};

class LoginThrottle {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  // Create: InvalidArgument when a policy has free_failures < 1, a non-positive
  // duration, max_lockout < base_lockout, or max_keys == 0.
  static StatusOr<std::unique_ptr<LoginThrottle>> Create(const LoginThrottleOptions& options);

  LoginThrottle(const LoginThrottle&) = delete;
  LoginThrottle& operator=(const LoginThrottle&) = delete;
  ~LoginThrottle();

  // Check: whether a login for `user` from `address` may be attempted at `now`; when
  // allowed, reserves an in-flight slot on both keys (see the file comment). Call it
  // before verifying the password, and follow an allowed Check with exactly one of
  // RecordFailure / RecordSuccess.
  ThrottleDecision Check(std::string_view user, std::string_view address, TimePoint now);

  // RecordFailure: a wrong password (or unknown user) for `user` from `address`.
  void RecordFailure(std::string_view user, std::string_view address, TimePoint now);

  // RecordSuccess: a correct password; clears the user's key, releases the address's
  // slot and keeps its failures.
  void RecordSuccess(std::string_view user, std::string_view address, TimePoint now);

  // Entries currently held per table (for tests and metrics).
  size_t tracked_users() const;
  size_t tracked_addresses() const;

 private:
  class KeyTable;

  explicit LoginThrottle(const LoginThrottleOptions& options);

  mutable Mutex mu_;
  const std::unique_ptr<KeyTable> users_ PT_GUARDED_BY(mu_);
  const std::unique_ptr<KeyTable> addresses_ PT_GUARDED_BY(mu_);
};

// ThrottleAddressKey: the throttle key of a client IP address: an IPv4 address as
// is; an IPv4-mapped IPv6 address as its IPv4 form; other IPv6 addresses as their /64
// network ("2001:db8:1:2::/64"), since one host typically controls a whole /64. Text
// that is not an IP address is returned unchanged.
std::string ThrottleAddressKey(std::string_view ip);

}  // namespace infera
