#include "common/ip_network.h"

#include <gtest/gtest.h>

namespace infera {
namespace {

TEST(IpNetworkTest, ParsesAndMatches) {
  EXPECT_TRUE(IpNetwork::Parse("10.0.0.0/8")->Contains("10.255.0.1"));
  EXPECT_FALSE(IpNetwork::Parse("10.0.0.0/8")->Contains("11.0.0.1"));
  EXPECT_TRUE(IpNetwork::Parse("127.0.0.1")->Contains("::ffff:127.0.0.1"));
  EXPECT_TRUE(IpNetwork::Parse("2001:db8::/32")->Contains("2001:db8:1::1"));
  EXPECT_FALSE(IpNetwork::Parse("2001:db8::/32")->Contains("10.0.0.1"));
  EXPECT_TRUE(IpNetwork::Parse("0.0.0.0/0")->Contains("8.8.8.8"));
  EXPECT_FALSE(IpNetwork::Parse("10.0.0.0/8")->Contains("nonsense"));
  for (const char* bad :
       {"", "10.0.0.0/33", "10.0.0.0/", "10.0.0/8", "host", "::/129", "1.2.3.4/x"}) {
    EXPECT_FALSE(IpNetwork::Parse(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace infera
