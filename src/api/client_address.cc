#include "api/client_address.h"

#include <algorithm>

namespace infera {

namespace {

bool Trusted(std::string_view address, const std::vector<IpNetwork>& proxies) {
  return std::any_of(proxies.begin(), proxies.end(),
                     [&](const IpNetwork& n) { return n.Contains(address); });
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::string ClientAddress(std::string_view peer, std::string_view x_forwarded_for,
                          const std::vector<IpNetwork>& trusted_proxies) {
  std::string client(peer);
  if (!Trusted(peer, trusted_proxies)) return client;
  std::string_view rest = x_forwarded_for;
  while (!rest.empty()) {
    const size_t comma = rest.rfind(',');
    const std::string_view entry =
        Trim(comma == std::string_view::npos ? rest : rest.substr(comma + 1));
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(0, comma);
    // Only addresses are believed ("unknown", ports, garbage end the walk).
    if (!IpNetwork::Parse(entry).ok() || entry.find('/') != std::string_view::npos) break;
    client = std::string(entry);
    if (!Trusted(entry, trusted_proxies)) break;
  }
  return client;
}

}  // namespace infera
