// MultipartBody: builds a multipart/form-data request body in tests.
#pragma once

#include <string>
#include <vector>

namespace infera::testing {

struct FormPart {
  std::string name;      // the form field
  std::string filename;  // empty for a plain field
  std::string content;
  std::string content_type = "application/octet-stream";
};

constexpr const char* kTestBoundary = "----inferaTestBoundary7MA4YWxkTrZu0gW";

// The body, with kTestBoundary; send it with ContentType().
inline std::string MultipartBody(const std::vector<FormPart>& parts) {
  std::string body;
  for (const FormPart& p : parts) {
    body += std::string("--") + kTestBoundary + "\r\n";
    body += "Content-Disposition: form-data; name=\"" + p.name + "\"";
    if (!p.filename.empty()) body += "; filename=\"" + p.filename + "\"";
    body += "\r\n";
    if (!p.filename.empty()) body += "Content-Type: " + p.content_type + "\r\n";
    body += "\r\n" + p.content + "\r\n";
  }
  body += std::string("--") + kTestBoundary + "--\r\n";
  return body;
}

inline std::string MultipartContentType() {
  return std::string("multipart/form-data; boundary=") + kTestBoundary;
}

}  // namespace infera::testing
