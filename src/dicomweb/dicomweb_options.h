// DicomwebOptions: the server's `dicomweb:` section — which PACS hosts the server may
// reach for DICOMweb import and export (issue 21).
//
// The server itself fetches from (and stores to) the URL a user gives, so a user could
// point it at hosts inside the server's network (SSRF). allowed_hosts limits that: when
// not empty, a URL's host must equal one of its entries (case-insensitive; a host name
// or an IP address as written in the URL, without the port); empty allows any host.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace infera {

struct DicomwebOptions {
  std::vector<std::string> allowed_hosts;  // empty: any host
  // One HTTP exchange with the PACS (connect, request, response); below 2/3 of the job
  // lease, which an import renews only between instances.
  std::chrono::milliseconds timeout{15000};
};

}  // namespace infera
