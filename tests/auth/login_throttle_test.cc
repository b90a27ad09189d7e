#include "auth/login_throttle.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace infera {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;
using TimePoint = LoginThrottle::TimePoint;

// An arbitrary fixed start: tests never read the real clock.
const TimePoint kT0 = TimePoint{} + hours(1000);

std::unique_ptr<LoginThrottle> Make(LoginThrottleOptions options = {}) {
  StatusOr<std::unique_ptr<LoginThrottle>> t = LoginThrottle::Create(options);
  EXPECT_TRUE(t.ok()) << t.status();
  return t.ok() ? std::move(*t) : nullptr;
}

// One login attempt that fails when allowed; returns Check's decision.
ThrottleDecision Fail(LoginThrottle& t, std::string_view user, std::string_view addr,
                      TimePoint now) {
  const ThrottleDecision d = t.Check(user, addr, now);
  if (d.allowed) t.RecordFailure(user, addr, now);
  return d;
}

TEST(LoginThrottleTest, AllowsFreeFailuresThenRefusesWithRetryAfter) {
  auto t = Make();
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(Fail(*t, "alice", "10.0.0.1", kT0 + seconds(i)).allowed) << i;
  }
  const ThrottleDecision d = t->Check("alice", "10.0.0.1", kT0 + seconds(4));
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after, seconds(30));
  // Rounded up to whole seconds, never 0.
  EXPECT_EQ(t->Check("alice", "10.0.0.1", kT0 + seconds(4) + milliseconds(500)).retry_after,
            seconds(30));
  EXPECT_EQ(t->Check("alice", "10.0.0.1", kT0 + seconds(33) + milliseconds(999)).retry_after,
            seconds(1));
  // The lockout is per user, from any address.
  EXPECT_FALSE(t->Check("alice", "10.9.9.9", kT0 + seconds(10)).allowed);
  // Refused checks recorded nothing: the lockout ends on time.
  EXPECT_TRUE(t->Check("alice", "10.0.0.1", kT0 + seconds(34)).allowed);
}

TEST(LoginThrottleTest, LockoutsDoubleAndAreCappedForUsers) {
  auto t = Make();
  TimePoint now = kT0;
  for (int i = 0; i < 4; ++i) Fail(*t, "alice", "a" + std::to_string(i), now);
  // Different addresses so only the user key matters.
  const std::vector<seconds> expected = {seconds(30),  seconds(60),  seconds(120), seconds(240),
                                         seconds(480), seconds(900), seconds(900), seconds(900)};
  for (size_t i = 0; i < expected.size(); ++i) {
    ASSERT_TRUE(Fail(*t, "alice", "b" + std::to_string(i), now).allowed) << i;
    const ThrottleDecision d = t->Check("alice", "c", now);
    EXPECT_FALSE(d.allowed) << i;
    EXPECT_EQ(d.retry_after, expected[i]) << i;
    now += d.retry_after;  // retry exactly when told to
  }
}

TEST(LoginThrottleTest, AddressLockoutsAreStricterThanUserLockouts) {
  auto t = Make();
  TimePoint now = kT0;
  // One address spraying many usernames: no user reaches its limit, the address does.
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(Fail(*t, "user" + std::to_string(i), "203.0.113.7", now).allowed) << i;
  }
  ThrottleDecision d = t->Check("someone-else", "203.0.113.7", now);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after, minutes(1));
  EXPECT_TRUE(t->Check("someone-else", "198.51.100.1", now).allowed);
  // Escalates to a one-hour cap (users stop at 15 minutes).
  seconds last{0};
  for (int i = 0; i < 12; ++i) {
    now += t->Check("u", "203.0.113.7", now).retry_after;
    ASSERT_TRUE(Fail(*t, "x" + std::to_string(i), "203.0.113.7", now).allowed) << i;
    last = t->Check("u", "203.0.113.7", now).retry_after;
    EXPECT_LE(last, hours(1));
  }
  EXPECT_EQ(last, hours(1));
}

TEST(LoginThrottleTest, FailuresAreForgottenAfterTheWindow) {
  auto t = Make();
  for (int i = 0; i < 4; ++i) Fail(*t, "alice", "a" + std::to_string(i), kT0);
  // 15 minutes of quiet: the four failures are forgotten; five more are free.
  const TimePoint later = kT0 + minutes(15);
  for (int i = 0; i < 4; ++i) {
    EXPECT_TRUE(Fail(*t, "alice", "b" + std::to_string(i), later).allowed) << i;
  }
  EXPECT_TRUE(t->Check("alice", "c", later).allowed);
}

TEST(LoginThrottleTest, FailuresWithinTheWindowAccumulate) {
  auto t = Make();
  TimePoint now = kT0;
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(Fail(*t, "alice", "a" + std::to_string(i), now).allowed) << i;
    now += minutes(14);  // slow guessing still counts
  }
  EXPECT_FALSE(t->Check("alice", "z", now - minutes(14)).allowed);
}

TEST(LoginThrottleTest, WindowCountsFromTheEndOfTheLockout) {
  auto t = Make();
  TimePoint now = kT0;
  for (int i = 0; i < 5; ++i) Fail(*t, "alice", "a" + std::to_string(i), now);
  // Locked for 30 s. A failure within a window of the lockout's end escalates...
  now += seconds(30) + minutes(14);
  ASSERT_TRUE(Fail(*t, "alice", "b", now).allowed);
  EXPECT_EQ(t->Check("alice", "c", now).retry_after, seconds(60));
  // ...and a full window after the lockout's end starts afresh.
  now += seconds(60) + minutes(15);
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(Fail(*t, "alice", "d" + std::to_string(i), now).allowed) << i;
  }
  EXPECT_TRUE(t->Check("alice", "e", now).allowed);
}

TEST(LoginThrottleTest, AnAttackerCannotLockAUserOutBeyondTheCap) {
  auto t = Make();
  TimePoint now = kT0;
  // Failing from many addresses as fast as allowed for two hours.
  int attempt = 0;
  while (now < kT0 + hours(2)) {
    const ThrottleDecision d = Fail(*t, "victim", "attacker" + std::to_string(attempt++), now);
    if (!d.allowed) {
      EXPECT_LE(d.retry_after, minutes(15));
      now += d.retry_after;
    }
  }
  // The attacker stops; the victim can try again no later than the cap.
  EXPECT_TRUE(t->Check("victim", "home", now + minutes(15)).allowed);
  t->RecordSuccess("victim", "home", now + minutes(15));
  // A success wipes the user's record: five fresh attempts.
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(Fail(*t, "victim", "home", now + minutes(16)).allowed) << i;
  }
}

TEST(LoginThrottleTest, SuccessClearsTheUserButNotTheAddress) {
  auto t = Make();
  for (int i = 0; i < 4; ++i) Fail(*t, "mallory", "198.51.100.9", kT0);
  ASSERT_TRUE(t->Check("mallory", "198.51.100.9", kT0).allowed);
  t->RecordSuccess("mallory", "198.51.100.9", kT0);  // the attacker's own valid account
  EXPECT_EQ(t->tracked_users(), 0u);
  for (int i = 0; i < 4; ++i) {
    EXPECT_TRUE(Fail(*t, "mallory", "198.51.100.10", kT0).allowed) << i;  // user is fresh
  }
  // The address kept its four failures: six more reach its limit of ten.
  for (int i = 0; i < 6; ++i) {
    EXPECT_TRUE(Fail(*t, "victim" + std::to_string(i), "198.51.100.9", kT0).allowed) << i;
  }
  EXPECT_FALSE(t->Check("victim9", "198.51.100.9", kT0).allowed);
}

TEST(LoginThrottleTest, UsersAndAddressesAreCountedIndependently) {
  auto t = Make();
  for (int i = 0; i < 5; ++i) Fail(*t, "alice", "10.0.0.1", kT0);
  EXPECT_FALSE(t->Check("alice", "10.0.0.2", kT0).allowed);  // user locked
  EXPECT_TRUE(t->Check("bob", "10.0.0.1", kT0).allowed);     // address has 5 of 10
  EXPECT_EQ(t->tracked_users(), 2u);                         // alice, bob
  EXPECT_EQ(t->tracked_addresses(), 1u);                     // a refused Check reserves nothing
}

TEST(LoginThrottleTest, ParallelAttemptsCannotExceedTheFreeFailures) {
  auto t = Make();
  int allowed = 0;
  for (int i = 0; i < 50; ++i) {
    const ThrottleDecision d = t->Check("alice", "a" + std::to_string(i), kT0);
    if (d.allowed) {
      ++allowed;
    } else {
      EXPECT_EQ(d.retry_after, seconds(1));
    }
  }
  EXPECT_EQ(allowed, 5);
  for (int i = 0; i < 5; ++i) t->RecordFailure("alice", "a" + std::to_string(i), kT0);
  EXPECT_EQ(t->Check("alice", "x", kT0).retry_after, seconds(30));
  // After a lockout only one attempt at a time proceeds.
  const TimePoint later = kT0 + seconds(30);
  EXPECT_TRUE(t->Check("alice", "y", later).allowed);
  EXPECT_FALSE(t->Check("alice", "z", later).allowed);
}

TEST(LoginThrottleTest, UnreportedAttemptsExpire) {
  auto t = Make();
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(t->Check("alice", "a", kT0).allowed);
  EXPECT_FALSE(t->Check("alice", "a", kT0 + seconds(29)).allowed);
  EXPECT_TRUE(t->Check("alice", "a", kT0 + seconds(30)).allowed);
}

TEST(LoginThrottleTest, SuccessReleasesTheAddressSlot) {
  LoginThrottleOptions options;
  options.address.free_failures = 1;
  auto t = Make(options);
  ASSERT_TRUE(t->Check("alice", "a", kT0).allowed);
  EXPECT_FALSE(t->Check("bob", "a", kT0).allowed);  // the one slot is taken
  t->RecordSuccess("alice", "a", kT0);
  EXPECT_TRUE(t->Check("bob", "a", kT0).allowed);
  t->RecordSuccess("bob", "a", kT0);
  EXPECT_EQ(t->tracked_addresses(), 0u);
}

TEST(LoginThrottleTest, MemoryIsCappedByEvictingTheLeastRecentlyUpdated) {
  LoginThrottleOptions options;
  options.max_keys = 100;
  auto t = Make(options);
  for (int i = 0; i < 5; ++i) Fail(*t, "victim", "v" + std::to_string(i), kT0);
  ASSERT_FALSE(t->Check("victim", "x", kT0).allowed);
  // 99 newer users fit beside the victim.
  for (int i = 0; i < 99; ++i) {
    Fail(*t, "random" + std::to_string(i), "r" + std::to_string(i), kT0 + seconds(1));
  }
  EXPECT_EQ(t->tracked_users(), 100u);
  EXPECT_FALSE(t->Check("victim", "x", kT0 + seconds(1)).allowed);
  // The next one evicts the oldest entry, the victim's.
  for (int i = 99; i < 10000; ++i) {
    Fail(*t, "random" + std::to_string(i), "r" + std::to_string(i), kT0 + seconds(1));
  }
  EXPECT_LE(t->tracked_users(), 100u);
  EXPECT_LE(t->tracked_addresses(), 100u);
  EXPECT_TRUE(t->Check("victim", "x", kT0 + seconds(1)).allowed);
}

TEST(LoginThrottleTest, IdleEntriesAreDropped) {
  auto t = Make();
  Fail(*t, "alice", "a", kT0);
  EXPECT_EQ(t->tracked_users(), 1u);
  // After the window, touching any key drops idle ones from the old end.
  Fail(*t, "bob", "b", kT0 + hours(2));
  EXPECT_EQ(t->tracked_users(), 1u);
  EXPECT_EQ(t->tracked_addresses(), 1u);
}

TEST(LoginThrottleTest, LongKeysStayDistinct) {
  auto t = Make();
  const std::string a = std::string(1000, 'u') + "a";
  const std::string b = std::string(1000, 'u') + "b";
  for (int i = 0; i < 5; ++i) Fail(*t, a, "x" + std::to_string(i), kT0);
  EXPECT_FALSE(t->Check(a, "y", kT0).allowed);
  EXPECT_TRUE(t->Check(b, "y", kT0).allowed);
}

TEST(LoginThrottleTest, CreateRejectsNonsenseOptions) {
  const auto code = [](LoginThrottleOptions o) { return LoginThrottle::Create(o).status().code(); };
  LoginThrottleOptions o;
  o.user.free_failures = 0;
  EXPECT_EQ(code(o), absl::StatusCode::kInvalidArgument);
  o = {};
  o.address.base_lockout = seconds(0);
  EXPECT_EQ(code(o), absl::StatusCode::kInvalidArgument);
  o = {};
  o.user.max_lockout = seconds(10);  // below base
  EXPECT_EQ(code(o), absl::StatusCode::kInvalidArgument);
  o = {};
  o.user.window = seconds(0);
  EXPECT_EQ(code(o), absl::StatusCode::kInvalidArgument);
  o = {};
  o.max_keys = 0;
  EXPECT_EQ(code(o), absl::StatusCode::kInvalidArgument);
  o = {};
  o.attempt_timeout = seconds(0);
  EXPECT_EQ(code(o), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(LoginThrottle::Create({}).ok());
}

TEST(LoginThrottleTest, ConcurrentUseIsSafe) {
  LoginThrottleOptions options;
  options.max_keys = 64;
  auto t = Make(options);
  std::atomic<int> allowed_for_shared{0};
  std::vector<std::thread> threads;
  threads.reserve(4);
  for (int th = 0; th < 4; ++th) {
    threads.emplace_back([&, th] {
      for (int i = 0; i < 2000; ++i) {
        const std::string user = (i % 3 == 0) ? "shared" : "u" + std::to_string(th * 10000 + i);
        const std::string addr = "10.0." + std::to_string(th) + "." + std::to_string(i % 50);
        const ThrottleDecision d = t->Check(user, addr, kT0);
        if (!d.allowed) continue;
        if (user == "shared") allowed_for_shared.fetch_add(1);
        if (i % 7 == 0) {
          t->RecordSuccess(user, addr, kT0);
        } else {
          t->RecordFailure(user, addr, kT0);
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_LE(t->tracked_users(), 64u);
  EXPECT_LE(t->tracked_addresses(), 64u);
  EXPECT_GT(allowed_for_shared.load(), 0);
}

TEST(LoginThrottleTest, AddressKeyNormalisesIpAddresses) {
  EXPECT_EQ(ThrottleAddressKey("192.0.2.1"), "192.0.2.1");
  EXPECT_EQ(ThrottleAddressKey("::ffff:192.0.2.1"), "192.0.2.1");
  EXPECT_EQ(ThrottleAddressKey("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
  EXPECT_EQ(ThrottleAddressKey("2001:DB8:1:2::ffff"), "2001:db8:1:2::/64");
  EXPECT_EQ(ThrottleAddressKey("2001:db8:1:3::1"), "2001:db8:1:3::/64");
  EXPECT_EQ(ThrottleAddressKey("::1"), "::/64");
  EXPECT_EQ(ThrottleAddressKey("not an address"), "not an address");
  EXPECT_EQ(ThrottleAddressKey(""), "");
}

}  // namespace
}  // namespace infera
