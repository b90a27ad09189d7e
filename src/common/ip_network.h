// IpNetwork: an IPv4 or IPv6 address range in CIDR form ("10.0.0.0/8", "::1/128"; a
// bare address is its own /32 or /128), and whether an address text falls in it.
// IPv4-mapped IPv6 addresses ("::ffff:10.1.2.3") match IPv4 networks.
// Immutable after Parse; thread-safe to share.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace infera {

class IpNetwork {
 public:
  // InvalidArgument for text that is not an address, optionally followed by "/prefix"
  // within the family's bit length.
  static StatusOr<IpNetwork> Parse(std::string_view text);

  // True when `address` (IPv4 or IPv6 text) lies in the network; false for text that is
  // not an address.
  bool Contains(std::string_view address) const;

  const std::string& text() const { return text_; }

 private:
  IpNetwork() = default;
  bool v4_ = false;
  std::array<uint8_t, 16> bytes_{};  // v4: the first 4
  int prefix_bits_ = 0;
  std::string text_;
};

}  // namespace infera
