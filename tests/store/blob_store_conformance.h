// The BlobStore conformance suite (blob_store_conformance_test.cc): what every BlobStore
// must do, written against the interface only; the filesystem store instantiates it
// there, the PostgreSQL store in postgres_store_test.cc. What is particular to one store
// (the filesystem layout, temp files) is tested beside it (fs_blob_store_test.cc).
//
// The factory opens a store for a folder; opening again with the same folder must give
// a store on the same blobs (the reopening test).
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <ostream>
#include <string>

#include "common/status.h"
#include "store/blob_store.h"
#include "store/store_conformance.h"

namespace infera::store_testing {

struct BlobStoreFactory {
  std::string name;  // letters and digits only
  std::function<StatusOr<std::unique_ptr<BlobStore>>(const std::filesystem::path& dir)> open;
};

inline void PrintTo(const BlobStoreFactory& factory, std::ostream* os) { *os << factory.name; }

inline std::string BlobStoreFactoryName(const ::testing::TestParamInfo<BlobStoreFactory>& info) {
  return info.param.name;
}

class BlobStoreConformanceTest : public ::testing::TestWithParam<BlobStoreFactory> {
 protected:
  void SetUp() override { ASSERT_OK_AND_ASSIGN(blobs_, GetParam().open(dir_.path())); }

  ScratchDir dir_;
  std::unique_ptr<BlobStore> blobs_;
};

}  // namespace infera::store_testing
