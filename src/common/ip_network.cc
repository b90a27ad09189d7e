#include "common/ip_network.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

#include "common/strings.h"

namespace infera {

namespace {

// Parses an address; sets *v4 and the bytes (IPv4-mapped IPv6 becomes IPv4).
bool ParseAddress(std::string_view text, bool* v4, std::array<uint8_t, 16>* bytes) {
  if (text.empty() || text.size() > 64) return false;
  const std::string s(text);
  bytes->fill(0);
  if (inet_pton(AF_INET, s.c_str(), bytes->data()) == 1) {
    *v4 = true;
    return true;
  }
  std::array<uint8_t, 16> v6{};
  if (inet_pton(AF_INET6, s.c_str(), v6.data()) != 1) return false;
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(v6.data(), kMapped, 12) == 0) {
    *v4 = true;
    std::memcpy(bytes->data(), v6.data() + 12, 4);
    return true;
  }
  *v4 = false;
  *bytes = v6;
  return true;
}

}  // namespace

StatusOr<IpNetwork> IpNetwork::Parse(std::string_view text) {
  IpNetwork n;
  n.text_ = std::string(text);
  const size_t slash = text.find('/');
  const std::string_view address = text.substr(0, slash);
  if (!ParseAddress(address, &n.v4_, &n.bytes_)) {
    return absl::InvalidArgumentError(
        StrCat("'", text.substr(0, 80), "' is not an IP address or CIDR network"));
  }
  const int max_bits = n.v4_ ? 32 : 128;
  n.prefix_bits_ = max_bits;
  if (slash != std::string_view::npos) {
    const std::string_view bits = text.substr(slash + 1);
    int value = -1;
    const auto [end, ec] = std::from_chars(bits.data(), bits.data() + bits.size(), value);
    if (bits.empty() || ec != std::errc() || end != bits.data() + bits.size() || value < 0 ||
        value > max_bits) {
      return absl::InvalidArgumentError(
          StrCat("'", text.substr(0, 80), "': the prefix length must be 0 to ", max_bits));
    }
    n.prefix_bits_ = value;
  }
  return n;
}

bool IpNetwork::Contains(std::string_view address) const {
  bool v4 = false;
  std::array<uint8_t, 16> bytes{};
  if (!ParseAddress(address, &v4, &bytes) || v4 != v4_) return false;
  int bits = prefix_bits_;
  for (size_t i = 0; bits > 0; ++i, bits -= 8) {
    const uint8_t mask = bits >= 8 ? 0xff : static_cast<uint8_t>(0xff << (8 - bits));
    if ((bytes[i] & mask) != (bytes_[i] & mask)) return false;
  }
  return true;
}

}  // namespace infera
