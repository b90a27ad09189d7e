#include "backends/torchscript/torchscript_backend.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

namespace infera {
namespace {

TEST(TorchScriptBackendTest, InstancesShareTheCoresUnlessThreadsAreSet) {
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  BackendOptions options;
  EXPECT_EQ(IntraOpThreads(options), cores);
  options.instances = 2;
  EXPECT_EQ(IntraOpThreads(options), std::max(1, cores / 2));
  options.instances = 1000;
  EXPECT_EQ(IntraOpThreads(options), 1);
  options.intra_op_threads = 3;
  EXPECT_EQ(IntraOpThreads(options), 3);
  options.intra_op_threads = 0;
  options.device = "cuda:0";
  EXPECT_EQ(IntraOpThreads(options), cores);
}

}  // namespace
}  // namespace infera
