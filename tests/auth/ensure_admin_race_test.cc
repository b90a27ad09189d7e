// The first admin when several nodes start at once on one PostgreSQL database, each with
// INFERA_ADMIN_PASSWORD: every node's AuthService::EnsureAdmin runs at the same moment on
// its own connection pool. The users table's unique (case-folded) name makes the create
// atomic: exactly one node creates `admin`, the others see AlreadyExists and go on as
// when users exist — every node starts, and there is one admin.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "auth/auth_service.h"
#include "auth/password_hash.h"
#include "store/postgres_store.h"
#include "support/postgres_server.h"
#include "support/status_matchers.h"

namespace infera {
namespace {

TEST(EnsureAdminRaceTest, NodesCreatingTheAdminAtOnceOnPostgresMakeExactlyOne) {
  constexpr int kNodes = 6;
  constexpr int kRounds = 3;  // a fresh database each round: more chances to interleave
  for (int round = 0; round < kRounds; ++round) {
    ASSERT_OK_AND_ASSIGN(std::string url, testing::FreshPostgresDatabase());
    PostgresStoreOptions store_options;
    store_options.url = url;
    std::vector<std::unique_ptr<UserStore>> stores(kNodes);
    std::vector<std::unique_ptr<AuthService>> nodes(kNodes);
    for (int i = 0; i < kNodes; ++i) {
      ASSERT_OK_AND_ASSIGN(stores[i], OpenPostgresUserStore(store_options));
      AuthOptions options;
      options.argon2 = Argon2Params::ForTesting();
      ASSERT_OK_AND_ASSIGN(nodes[i],
                           AuthService::Create(stores[i].get(), std::string(40, 'k'), options));
    }
    std::atomic<int> waiting{kNodes};
    std::vector<StatusOr<std::optional<std::string>>> results(kNodes, std::optional<std::string>());
    std::vector<std::thread> threads;
    for (int i = 0; i < kNodes; ++i) {
      threads.emplace_back([&, i] {
        --waiting;
        while (waiting.load() > 0) std::this_thread::yield();  // all start together
        results[i] = nodes[i]->EnsureAdmin("first-admin-pw");
      });
    }
    for (std::thread& t : threads) t.join();
    int created = 0;
    for (int i = 0; i < kNodes; ++i) {
      ASSERT_TRUE(results[i].ok()) << "node " << i << " would not start: " << results[i].status();
      if (results[i]->has_value()) {
        ++created;
        EXPECT_EQ(**results[i], "first-admin-pw");
      }
    }
    EXPECT_EQ(created, 1) << "round " << round;
    ASSERT_OK_AND_ASSIGN(std::vector<UserRecord> users, stores[0]->ListUsers());
    ASSERT_EQ(users.size(), 1u);
    EXPECT_EQ(users[0].username, "admin");
    EXPECT_EQ(users[0].role, "admin");
    // Every node logs the admin in with that password.
    for (int i = 0; i < kNodes; ++i) {
      StatusOr<TokenPair> login = nodes[i]->Login("admin", "first-admin-pw", "10.0.0.1", nullptr);
      EXPECT_TRUE(login.ok()) << "node " << i << ": " << login.status();
    }
  }
}

}  // namespace
}  // namespace infera
