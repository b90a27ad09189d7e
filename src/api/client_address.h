// ClientAddress: who a request comes from, for the per-address login throttle (and
// logs): the peer's address, unless the peer is a configured trusted proxy.
//
// X-Forwarded-For is set by the client as much as by proxies, so it is believed only
// from trusted proxies (auth.trusted_proxies): each proxy appends the address it got
// the request from, so the list is read from the right, skipping trusted proxies; the
// first address that is not one is the client. A malformed entry ends the walk at the
// last trusted hop (that proxy's address is used). With no trusted proxies the header
// is ignored. Pure; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/ip_network.h"

namespace infera {

std::string ClientAddress(std::string_view peer, std::string_view x_forwarded_for,
                          const std::vector<IpNetwork>& trusted_proxies);

}  // namespace infera
