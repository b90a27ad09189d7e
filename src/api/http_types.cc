#include "api/http_types.h"

#include <utility>

#include "common/ascii.h"
#include "nlohmann/json.hpp"

namespace infera {

BodyFile::~BodyFile() {
  if (path.empty()) return;
  std::error_code ignored;
  std::filesystem::remove(path, ignored);
}
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes leniently: a malformed escape is kept as is.
std::string DecodeQueryComponent(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '+') {
      out.push_back(' ');
    } else if (in[i] == '%' && i + 2 < in.size() && HexValue(in[i + 1]) >= 0 &&
               HexValue(in[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(in[i + 1]) * 16 + HexValue(in[i + 2])));
      i += 2;
    } else {
      out.push_back(in[i]);
    }
  }
  return out;
}

}  // namespace

bool PercentDecode(std::string_view in, bool plus_as_space, std::string* out) {
  out->clear();
  out->reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return false;
      const int hi = HexValue(in[i + 1]);
      const int lo = HexValue(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out->push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_as_space) {
      out->push_back(' ');
    } else {
      out->push_back(c);
    }
  }
  return true;
}

std::string_view HttpRequest::header(std::string_view name) const {
  auto it = headers.find(AsciiStrToLower(name));
  if (it != headers.end()) return it->second;
  // Requests built by hand (tests) may not use lower-case names.
  for (const auto& [key, value] : headers) {
    if (EqualsIgnoreCase(key, name)) return value;
  }
  return {};
}

bool HttpRequest::query_param(std::string_view name, std::string* value) const {
  std::string_view rest = query;
  while (!rest.empty()) {
    const size_t amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    const std::string_view key = pair.substr(0, eq);
    if (DecodeQueryComponent(key) != name) continue;
    if (value != nullptr) {
      *value =
          eq == std::string_view::npos ? std::string() : DecodeQueryComponent(pair.substr(eq + 1));
    }
    return true;
  }
  return false;
}

HttpResponse JsonResponse(int status, std::string body) {
  HttpResponse response;
  response.status = status;
  response.content_type = "application/json";
  response.body = std::move(body);
  return response;
}

HttpResponse ErrorResponse(int status, std::string_view message) {
  nlohmann::json json = {{"error", std::string(message)}};
  // Invalid UTF-8 (e.g. from a client-supplied path) is replaced, never thrown on.
  return JsonResponse(status, json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace infera
