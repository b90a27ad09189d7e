#include "annotations/coco_rle.h"

#include <limits>

#include "common/strings.h"

namespace infera {

std::vector<uint32_t> CocoRleEncode(const std::vector<uint8_t>& mask, int width, int height) {
  std::vector<uint32_t> counts;
  uint8_t current = 0;
  uint32_t run = 0;
  for (int x = 0; x < width; ++x) {
    for (int y = 0; y < height; ++y) {
      const uint8_t v = mask[static_cast<size_t>(y) * width + x] != 0 ? 1 : 0;
      if (v != current) {
        counts.push_back(run);
        run = 0;
        current = v;
      }
      ++run;
    }
  }
  counts.push_back(run);
  return counts;
}

std::vector<uint32_t> CocoRleEncodeLabel(const Image& labels, const LabelExtent& extent) {
  std::vector<uint32_t> counts;
  uint8_t current = 0;
  uint64_t run = 0;
  // Appends `n` pixels of value `v` (column-major order).
  auto push = [&](uint8_t v, uint64_t n) {
    if (n == 0) return;
    if (v != current) {
      counts.push_back(static_cast<uint32_t>(run));
      run = 0;
      current = v;
    }
    run += n;
  };
  const uint64_t h = static_cast<uint64_t>(labels.height);
  if (extent.area > 0) {
    push(0, static_cast<uint64_t>(extent.x0) * h);
    for (int x = extent.x0; x <= extent.x1; ++x) {
      push(0, static_cast<uint64_t>(extent.y0));
      for (int y = extent.y0; y <= extent.y1; ++y) {
        const size_t i = static_cast<size_t>(y) * labels.width + x;
        push(LabelAt(labels, i) == extent.value ? 1 : 0, 1);
      }
      push(0, h - 1 - static_cast<uint64_t>(extent.y1));
    }
    push(0, static_cast<uint64_t>(labels.width - 1 - extent.x1) * h);
  } else {
    push(0, static_cast<uint64_t>(labels.width) * h);
  }
  counts.push_back(static_cast<uint32_t>(run));
  return counts;
}

StatusOr<std::vector<uint8_t>> CocoRleDecode(const std::vector<uint32_t>& counts, int width,
                                             int height) {
  const uint64_t total = static_cast<uint64_t>(width) * static_cast<uint64_t>(height);
  uint64_t sum = 0;
  for (uint32_t c : counts) sum += c;
  if (sum != total) {
    return absl::InvalidArgumentError(
        StrCat("RLE counts sum to ", sum, ", not ", width, "x", height, " = ", total));
  }
  std::vector<uint8_t> mask(total, 0);
  uint64_t pos = 0;  // column-major position
  for (size_t i = 0; i < counts.size(); ++i) {
    if (i % 2 == 1) {
      for (uint64_t k = pos; k < pos + counts[i]; ++k) {
        const uint64_t x = k / height;
        const uint64_t y = k % height;
        mask[y * width + x] = 1;
      }
    }
    pos += counts[i];
  }
  return mask;
}

std::string CocoRleToString(const std::vector<uint32_t>& counts) {
  std::string out;
  for (size_t i = 0; i < counts.size(); ++i) {
    int64_t x = counts[i];
    if (i > 2) x -= static_cast<int64_t>(counts[i - 2]);
    bool more = true;
    while (more) {
      int64_t c = x & 0x1f;
      x >>= 5;  // arithmetic shift: negative deltas keep their sign
      more = (c & 0x10) ? x != -1 : x != 0;
      if (more) c |= 0x20;
      out.push_back(static_cast<char>(c + 48));
    }
  }
  return out;
}

StatusOr<std::vector<uint32_t>> CocoRleFromString(std::string_view text) {
  std::vector<uint32_t> counts;
  size_t p = 0;
  while (p < text.size()) {
    int64_t x = 0;
    int k = 0;
    bool more = true;
    while (more) {
      if (p >= text.size()) {
        return absl::InvalidArgumentError("compressed RLE ends inside a count");
      }
      const int c = static_cast<unsigned char>(text[p]) - 48;
      if (c < 0 || c > 63) {
        return absl::InvalidArgumentError(
            StrCat("compressed RLE has a character outside '0'..'o' at offset ", p));
      }
      if (k >= 7) return absl::InvalidArgumentError("compressed RLE has a count too large");
      x |= static_cast<int64_t>(c & 0x1f) << (5 * k);
      more = (c & 0x20) != 0;
      ++p;
      ++k;
      if (!more && (c & 0x10)) x |= -(int64_t{1} << (5 * k));
    }
    if (counts.size() > 2) x += counts[counts.size() - 2];
    if (x < 0 || x > std::numeric_limits<uint32_t>::max()) {
      return absl::InvalidArgumentError("compressed RLE has a negative or too large count");
    }
    counts.push_back(static_cast<uint32_t>(x));
  }
  return counts;
}

}  // namespace infera
