// The seeded train/validation split of a training run.
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <vector>

namespace infera {

struct SampleSplit {
  std::vector<int> train;       // sample indices, ascending
  std::vector<int> validation;  // sample indices, ascending
};

// Splits samples 0..count-1: round(count * validation_fraction) go to validation, chosen by
// a std::mt19937_64 shuffle seeded with `seed` (the same seed and count give the same
// split on every platform); with count >= 2 each side gets at least one sample (so a
// fraction of 0 still validates on one image); count 1 trains and validates on the same
// sample. Requires count >= 1 and fraction in [0, 1).
SampleSplit SplitSamples(int count, double validation_fraction, uint64_t seed);

}  // namespace infera
