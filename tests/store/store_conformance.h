// The Store conformance suite (store_conformance_test.cc): the behaviour every Store
// implementation must have, written against the abstract interface only.
//
// An implementation runs the suite by instantiating it with a factory that opens a
// fresh, empty store:
//
//   INSTANTIATE_TEST_SUITE_P(Postgres, StoreConformanceTest,
//                            ::testing::Values(StoreFactory{"Postgres", OpenTestPgStore}),
//                            StoreFactoryName);
//
// The store must take its times from the clock it is given (the suite moves that clock
// to expire leases without sleeping).
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <system_error>
#include <utility>

#include "common/status.h"
#include "store/store.h"
#include "support/status_matchers.h"

namespace infera::store_testing {

// A fresh folder under the system temp dir, removed with its contents on destruction.
class ScratchDir {
 public:
  ScratchDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "infera-store-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) ADD_FAILURE() << "mkdtemp " << tmpl << " failed";
    path_ = tmpl;
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

struct StoreFactory {
  std::string name;  // the instantiation's name: letters and digits only
  // Opens an empty store; `dir` is a fresh folder the store may use, `now_ms` its clock.
  std::function<StatusOr<std::unique_ptr<Store>>(const std::filesystem::path& dir,
                                                 std::function<int64_t()> now_ms)>
      open;
};

// gtest prints the parameter of a failing test by its name.
inline void PrintTo(const StoreFactory& factory, std::ostream* os) { *os << factory.name; }

inline std::string StoreFactoryName(const ::testing::TestParamInfo<StoreFactory>& info) {
  return info.param.name;
}

// Owns the store under test and its fake clock (which starts at kStartMs and moves only
// when Advance is called).
class StoreConformanceTest : public ::testing::TestWithParam<StoreFactory> {
 protected:
  static constexpr int64_t kStartMs = 1'700'000'000'000;

  void SetUp() override;

  int64_t Now() const { return now_ms_.load(); }
  void Advance(int64_t ms) { now_ms_ += ms; }

  // Helpers that fail the test (and return an empty record) on error.
  DatasetRecord NewDataset(const std::string& name, int64_t owner_id = 0);
  FileRecord NewFile(const FileRecord& file);
  JobRecord NewJob(int64_t dataset_id, int64_t owner_id = 0);
  JobRecord Job(int64_t id);
  // Claims and expects to get job `id`.
  void ClaimExpecting(int64_t id, const std::string& worker, int64_t lease_ms = 1000);
  void ExpectNothingToClaim(const std::string& worker);

  ScratchDir dir_;
  std::atomic<int64_t> now_ms_{kStartMs};
  std::unique_ptr<Store> store_;
};

}  // namespace infera::store_testing
