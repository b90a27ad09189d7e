#include "auth/login_throttle.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>
#include <iterator>
#include <list>
#include <unordered_map>
#include <vector>

#include "common/hex.h"
#include "common/sha256.h"
#include "common/strings.h"

namespace infera {
namespace {

using Clock = std::chrono::steady_clock;
using Duration = Clock::duration;

// Keys longer than this are stored as their SHA-256 (bounded memory per entry).
constexpr size_t kMaxStoredKeyBytes = 128;
// Failures beyond free_failures + this are not counted (the lockout is capped anyway).
constexpr int64_t kMaxExtraFailures = 64;
// Idle entries dropped from the LRU front per insertion (amortised cleanup).
constexpr int kIdleDropsPerInsert = 4;
// retry_after when every slot of a key is held by attempts in flight.
constexpr std::chrono::seconds kInFlightRetryAfter{1};

std::string StoredKey(std::string_view key) {
  if (key.size() <= kMaxStoredKeyBytes) return std::string(key);
  return StrCat("sha256:", HexEncode(Sha256Digest(key)));
}

Status ValidatePolicy(const ThrottlePolicy& p, std::string_view name) {
  if (p.free_failures < 1) {
    return absl::InvalidArgumentError(StrCat(name, " throttle: free_failures must be >= 1"));
  }
  if (p.base_lockout.count() <= 0 || p.window.count() <= 0 || p.max_lockout < p.base_lockout) {
    return absl::InvalidArgumentError(
        StrCat(name, " throttle: durations must be positive and max_lockout >= base_lockout"));
  }
  return absl::OkStatus();
}

}  // namespace

// KeyTable: the entries of one kind of key, in least-recently-updated order.
// Not thread-safe: LoginThrottle serialises access with its mutex.
class LoginThrottle::KeyTable {
 public:
  KeyTable(const ThrottlePolicy& policy, Duration attempt_timeout, size_t max_keys)
      : policy_(policy), attempt_timeout_(attempt_timeout), max_keys_(max_keys) {}

  // How long `key` is refused for at `now`; zero when it may proceed.
  Duration Blocked(std::string_view key, TimePoint now) {
    Entry* e = Find(key, now);
    if (e == nullptr) return Duration::zero();
    if (now < e->locked_until) return e->locked_until - now;
    const int64_t budget = std::max<int64_t>(1, policy_.free_failures - e->failures);
    if (static_cast<int64_t>(e->pending.size()) >= budget) return kInFlightRetryAfter;
    return Duration::zero();
  }

  void Reserve(std::string_view key, TimePoint now) {
    Entry& e = FindOrInsert(key, now);
    e.pending.push_back(now + attempt_timeout_);
  }

  void Failure(std::string_view key, TimePoint now) {
    Entry& e = FindOrInsert(key, now);
    PopPending(e);
    if (e.failures < policy_.free_failures + kMaxExtraFailures) ++e.failures;
    e.last_failure = now;
    if (e.failures >= policy_.free_failures) {
      Duration lock = policy_.base_lockout;
      const Duration cap = policy_.max_lockout;
      for (int64_t i = policy_.free_failures; i < e.failures && lock < cap; ++i) lock *= 2;
      e.locked_until = std::max(e.locked_until, now + std::min(lock, cap));
    }
  }

  // Ends one in-flight attempt without a failure.
  void Release(std::string_view key, TimePoint now) {
    Entry* e = Find(key, now);
    if (e == nullptr) return;
    PopPending(*e);
    if (IsIdle(*e, now)) Erase(index_.find(key));
  }

  void Clear(std::string_view key) {
    const auto it = index_.find(key);
    if (it != index_.end()) Erase(it);
  }

  size_t size() const { return index_.size(); }

 private:
  struct Entry {
    std::string key;
    int64_t failures = 0;  // in the current streak
    TimePoint last_failure{};
    TimePoint locked_until{};
    std::vector<TimePoint> pending;  // expiry of each reserved attempt, oldest first
  };
  using List = std::list<Entry>;
  // Keys are views of Entry::key; list nodes never move, so the views stay valid.
  using Index = std::unordered_map<std::string_view, List::iterator>;

  static void PopPending(Entry& e) {
    if (!e.pending.empty()) e.pending.erase(e.pending.begin());
  }

  // Drops expired reservations and forgets a streak whose window has passed.
  void Refresh(Entry& e, TimePoint now) const {
    std::erase_if(e.pending, [now](TimePoint expiry) { return expiry <= now; });
    if (e.failures > 0 && now >= std::max(e.last_failure, e.locked_until) + policy_.window) {
      e.failures = 0;
      e.locked_until = TimePoint{};
    }
  }

  bool IsIdle(Entry& e, TimePoint now) const {
    Refresh(e, now);
    return e.failures == 0 && e.pending.empty();
  }

  void Erase(Index::iterator it) {
    const List::iterator node = it->second;
    index_.erase(it);  // before the node: the index key views the node's string
    lru_.erase(node);
  }

  // The live entry of `key`, or nullptr (an idle entry is erased).
  Entry* Find(std::string_view key, TimePoint now) {
    const auto it = index_.find(key);
    if (it == index_.end()) return nullptr;
    if (IsIdle(*it->second, now)) {
      Erase(it);
      return nullptr;
    }
    return &*it->second;
  }

  // The entry of `key`, created when missing; moved to the most-recent end.
  Entry& FindOrInsert(std::string_view key, TimePoint now) {
    if (Entry* e = Find(key, now)) {
      const List::iterator node = index_.find(key)->second;
      lru_.splice(lru_.end(), lru_, node);
      return *e;
    }
    for (int i = 0; i < kIdleDropsPerInsert && !lru_.empty() && IsIdle(lru_.front(), now); ++i) {
      Erase(index_.find(lru_.front().key));
    }
    while (index_.size() >= max_keys_) Erase(index_.find(lru_.front().key));
    lru_.push_back(Entry{std::string(key), 0, TimePoint{}, TimePoint{}, {}});
    const List::iterator node = std::prev(lru_.end());
    index_.emplace(std::string_view(node->key), node);
    return *node;
  }

  const ThrottlePolicy policy_;
  const Duration attempt_timeout_;
  const size_t max_keys_;
  List lru_;  // least recently updated first
  Index index_;
};

StatusOr<std::unique_ptr<LoginThrottle>> LoginThrottle::Create(
    const LoginThrottleOptions& options) {
  RETURN_IF_ERROR(ValidatePolicy(options.user, "user"));
  RETURN_IF_ERROR(ValidatePolicy(options.address, "address"));
  if (options.attempt_timeout.count() <= 0 || options.max_keys == 0) {
    return absl::InvalidArgumentError(
        "login throttle: attempt_timeout must be positive and max_keys >= 1");
  }
  return std::unique_ptr<LoginThrottle>(new LoginThrottle(options));
}

LoginThrottle::LoginThrottle(const LoginThrottleOptions& options)
    : users_(std::make_unique<KeyTable>(options.user, options.attempt_timeout, options.max_keys)),
      addresses_(
          std::make_unique<KeyTable>(options.address, options.attempt_timeout, options.max_keys)) {}

LoginThrottle::~LoginThrottle() = default;

ThrottleDecision LoginThrottle::Check(std::string_view user, std::string_view address,
                                      TimePoint now) {
  const std::string user_key = StoredKey(user);
  const std::string address_key = StoredKey(address);
  MutexLock lock(&mu_);
  const Duration wait =
      std::max(users_->Blocked(user_key, now), addresses_->Blocked(address_key, now));
  if (wait > Duration::zero()) {
    return ThrottleDecision{false, std::chrono::ceil<std::chrono::seconds>(wait)};
  }
  users_->Reserve(user_key, now);
  addresses_->Reserve(address_key, now);
  return ThrottleDecision{true, std::chrono::seconds(0)};
}

void LoginThrottle::RecordFailure(std::string_view user, std::string_view address, TimePoint now) {
  const std::string user_key = StoredKey(user);
  const std::string address_key = StoredKey(address);
  MutexLock lock(&mu_);
  users_->Failure(user_key, now);
  addresses_->Failure(address_key, now);
}

void LoginThrottle::RecordSuccess(std::string_view user, std::string_view address, TimePoint now) {
  const std::string user_key = StoredKey(user);
  const std::string address_key = StoredKey(address);
  MutexLock lock(&mu_);
  users_->Clear(user_key);
  addresses_->Release(address_key, now);
}

size_t LoginThrottle::tracked_users() const {
  MutexLock lock(&mu_);
  return users_->size();
}

size_t LoginThrottle::tracked_addresses() const {
  MutexLock lock(&mu_);
  return addresses_->size();
}

std::string ThrottleAddressKey(std::string_view ip) {
  std::string text(ip);
  in_addr v4{};
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) {
    char buf[INET_ADDRSTRLEN];
    if (inet_ntop(AF_INET, &v4, buf, sizeof(buf)) == nullptr) return text;
    return std::string(buf);
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, text.c_str(), &v6) != 1) return text;
  if (IN6_IS_ADDR_V4MAPPED(&v6)) {
    std::memcpy(&v4, &v6.s6_addr[12], sizeof(v4));
    char buf[INET_ADDRSTRLEN];
    if (inet_ntop(AF_INET, &v4, buf, sizeof(buf)) == nullptr) return text;
    return std::string(buf);
  }
  std::fill(std::begin(v6.s6_addr) + 8, std::end(v6.s6_addr), uint8_t{0});
  char buf[INET6_ADDRSTRLEN];
  if (inet_ntop(AF_INET6, &v6, buf, sizeof(buf)) == nullptr) return text;
  return StrCat(buf, "/64");
}

}  // namespace infera
