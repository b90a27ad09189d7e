// The AnnotationStore conformance suite (annotation_conformance_test.cc): the behaviour
// every AnnotationStore must have, written against the abstract interfaces only. An
// annotation store lives beside a Store on the same database (datasets, files and blob
// sweeps are the Store's), so a factory opens both, fresh and empty:
//
//   INSTANTIATE_TEST_SUITE_P(Postgres, AnnotationConformanceTest,
//                            ::testing::Values(AnnotationStoreFactory{"Postgres", OpenPg}),
//                            AnnotationStoreFactoryName);
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
#include "store/annotation_store.h"
#include "store/store.h"
#include "store/store_conformance.h"  // ScratchDir

namespace infera::store_testing {

struct AnnotationStores {
  std::unique_ptr<Store> records;
  std::unique_ptr<AnnotationStore> annotations;
};

struct AnnotationStoreFactory {
  std::string name;  // letters and digits only
  // Opens an empty Store and the AnnotationStore beside it; `dir` is a fresh folder the
  // stores may use, `now_ms` their clock.
  std::function<StatusOr<AnnotationStores>(const std::filesystem::path& dir,
                                           std::function<int64_t()> now_ms)>
      open;
};

inline void PrintTo(const AnnotationStoreFactory& factory, std::ostream* os) {
  *os << factory.name;
}

inline std::string AnnotationStoreFactoryName(
    const ::testing::TestParamInfo<AnnotationStoreFactory>& info) {
  return info.param.name;
}

class AnnotationConformanceTest : public ::testing::TestWithParam<AnnotationStoreFactory> {
 protected:
  static constexpr int64_t kStartMs = 1'700'000'000'000;

  void SetUp() override;

  int64_t Now() const { return now_ms_.load(); }
  void Advance(int64_t ms) { now_ms_ += ms; }

  ScratchDir dir_;
  std::atomic<int64_t> now_ms_{kStartMs};
  std::unique_ptr<Store> store_;
  std::unique_ptr<AnnotationStore> annotations_;
};

}  // namespace infera::store_testing
