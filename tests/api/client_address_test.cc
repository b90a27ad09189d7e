#include "api/client_address.h"

#include <gtest/gtest.h>

namespace infera {
namespace {

std::vector<IpNetwork> Proxies(std::initializer_list<const char*> texts) {
  std::vector<IpNetwork> out;
  for (const char* t : texts) out.push_back(*IpNetwork::Parse(t));
  return out;
}

// Issue 22 item 6: X-Forwarded-For is honoured only from configured trusted proxies.
TEST(ClientAddressTest, ForwardedForOnlyFromTrustedProxies) {
  EXPECT_EQ(ClientAddress("10.0.0.1", "203.0.113.5", {}), "10.0.0.1");
  const auto proxies = Proxies({"10.0.0.0/8", "::1"});
  EXPECT_EQ(ClientAddress("192.0.2.7", "203.0.113.5", proxies), "192.0.2.7");
  EXPECT_EQ(ClientAddress("10.0.0.1", "203.0.113.5", proxies), "203.0.113.5");
  EXPECT_EQ(ClientAddress("10.0.0.1", "", proxies), "10.0.0.1");
  EXPECT_EQ(ClientAddress("::1", "2001:db8::5", proxies), "2001:db8::5");
}

TEST(ClientAddressTest, WalksFromTheRightSkippingTrustedHops) {
  const auto proxies = Proxies({"10.0.0.0/8"});
  EXPECT_EQ(ClientAddress("10.0.0.1", "192.0.2.1, 203.0.113.5, 10.1.1.1", proxies), "203.0.113.5");
  EXPECT_EQ(ClientAddress("10.0.0.1", "10.2.2.2,10.3.3.3", proxies), "10.2.2.2");
  EXPECT_EQ(ClientAddress("10.0.0.1", "203.0.113.5, unknown", proxies), "10.0.0.1");
  EXPECT_EQ(ClientAddress("10.0.0.1", "203.0.113.5, garbage, 10.9.9.9", proxies), "10.9.9.9");
}

}  // namespace
}  // namespace infera
