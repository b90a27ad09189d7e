// Assertions on Status / StatusOr values for gtest: ASSERT_OK(expr),
// ASSERT_OK_AND_ASSIGN(lhs, expr), and StatusOf(x) for EXPECT_EQ(StatusOf(x).code(), ...).
#pragma once

#include <gtest/gtest.h>

#include <utility>

#include "common/status.h"

// Assertions on Status / StatusOr values.
#ifndef ASSERT_OK
#define ASSERT_OK(expr)               \
  do {                                \
    const ::absl::Status s_ = (expr); \
    ASSERT_TRUE(s_.ok()) << s_;       \
  } while (0)
#endif
#ifndef ASSERT_OK_AND_ASSIGN
#define INFERA_TESTING_CONCAT_INNER_(a, b) a##b
#define INFERA_TESTING_CONCAT_(a, b) INFERA_TESTING_CONCAT_INNER_(a, b)
// `lhs` may be a declaration, so it cannot be parenthesised.
// NOLINTBEGIN(bugprone-macro-parentheses)
#define ASSERT_OK_AND_ASSIGN(lhs, expr)                         \
  auto INFERA_TESTING_CONCAT_(statusor_, __LINE__) = (expr);    \
  ASSERT_TRUE(INFERA_TESTING_CONCAT_(statusor_, __LINE__).ok()) \
      << INFERA_TESTING_CONCAT_(statusor_, __LINE__).status();  \
  lhs = std::move(INFERA_TESTING_CONCAT_(statusor_, __LINE__)).value()
// NOLINTEND(bugprone-macro-parentheses)
#endif

namespace infera {

// The status of a Status or StatusOr.
inline const Status& StatusOf(const Status& s) { return s; }
template <typename T>
Status StatusOf(const StatusOr<T>& s) {
  return s.status();
}

}  // namespace infera
