// The UserStore conformance suite (user_store_conformance_test.cc): the behaviour every
// UserStore implementation must have, written against the interface only. An
// implementation runs it by instantiating it with a factory that opens a fresh, empty
// store (see store_conformance.h for the pattern):
//
//   INSTANTIATE_TEST_SUITE_P(Postgres, UserStoreConformanceTest,
//                            ::testing::Values(UserStoreFactory{"Postgres", open}),
//                            UserStoreFactoryName);
//
// The store must take its times from the clock it is given.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <ostream>
#include <string>

#include "common/status.h"
#include "store/store_conformance.h"
#include "store/user_store.h"

namespace infera::store_testing {

struct UserStoreFactory {
  std::string name;  // letters and digits only
  // Opens an empty store; `dir` is a fresh folder it may use, `now_ms` its clock.
  std::function<StatusOr<std::unique_ptr<UserStore>>(const std::filesystem::path& dir,
                                                     std::function<int64_t()> now_ms)>
      open;
};

inline void PrintTo(const UserStoreFactory& factory, std::ostream* os) { *os << factory.name; }

inline std::string UserStoreFactoryName(const ::testing::TestParamInfo<UserStoreFactory>& info) {
  return info.param.name;
}

inline std::string Hex64(char c) { return std::string(64, c); }

// Owns the store under test and its fake clock (starts at 1000, moved by assigning now_).
class UserStoreConformanceTest : public ::testing::TestWithParam<UserStoreFactory> {
 protected:
  void SetUp() override;
  // Helpers that fail the test (and return an empty record) on error.
  UserRecord User(const std::string& name, const std::string& role = "user");
  RefreshTokenRecord Token(int64_t user, char hash, const std::string& family, int64_t expires);

  ScratchDir dir_;
  std::atomic<int64_t> now_{1000};
  std::unique_ptr<UserStore> store_;
};

}  // namespace infera::store_testing
