#include "common/byte_budget.h"

#include <gtest/gtest.h>

#include <thread>

namespace infera {
namespace {

using std::chrono::milliseconds;

// Issue 22 item 4: four uploads at once held four images' worth of memory each; the
// budget bounds what all of them hold together.
TEST(ByteBudgetTest, BoundsWhatIsHeldAtOnce) {
  ByteBudget budget(100);
  StatusOr<ByteBudget::Reservation> a = budget.Acquire(60, milliseconds(0));
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(budget.in_use(), 60u);
  StatusOr<ByteBudget::Reservation> b = budget.Acquire(50, milliseconds(10));
  EXPECT_EQ(b.status().code(), absl::StatusCode::kUnavailable);
  StatusOr<ByteBudget::Reservation> c = budget.Acquire(40, milliseconds(0));
  ASSERT_TRUE(c.ok());
  a->Release();
  EXPECT_EQ(budget.in_use(), 40u);
  EXPECT_TRUE(budget.Acquire(50, milliseconds(0)).ok());  // released at once again
  EXPECT_EQ(budget.in_use(), 40u);
}

TEST(ByteBudgetTest, AWaiterGetsInWhenBytesAreGivenBack) {
  ByteBudget budget(100);
  StatusOr<ByteBudget::Reservation> held = budget.Acquire(100, milliseconds(0));
  ASSERT_TRUE(held.ok());
  std::thread releaser([&] { held->Release(); });
  StatusOr<ByteBudget::Reservation> waiter = budget.Acquire(80, milliseconds(10000));
  releaser.join();
  ASSERT_TRUE(waiter.ok()) << waiter.status();
  EXPECT_EQ(budget.in_use(), 80u);
}

TEST(ByteBudgetTest, OversizedRequestRunsAlone) {
  ByteBudget budget(100);
  {
    StatusOr<ByteBudget::Reservation> small = budget.Acquire(1, milliseconds(0));
    ASSERT_TRUE(small.ok());
    EXPECT_FALSE(budget.Acquire(500, milliseconds(10)).ok());
  }
  StatusOr<ByteBudget::Reservation> big = budget.Acquire(500, milliseconds(0));
  ASSERT_TRUE(big.ok());
  EXPECT_FALSE(budget.Acquire(1, milliseconds(10)).ok());
}

}  // namespace
}  // namespace infera
