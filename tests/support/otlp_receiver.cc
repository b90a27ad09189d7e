#include "support/otlp_receiver.h"

#include <gtest/gtest.h>

#include <thread>

namespace infera::testing {

nlohmann::json ReceivedSpan::attribute(const std::string& key) const {
  for (const auto& a : span.value("attributes", nlohmann::json::array())) {
    if (a.value("key", "") == key) return a["value"];
  }
  return nullptr;
}

std::string ReceivedSpan::string_attribute(const std::string& key) const {
  const nlohmann::json v = attribute(key);
  return v.is_object() ? v.value("stringValue", "") : "";
}

OtlpReceiver::OtlpReceiver() {
  router_.Add("POST", "/v1/traces", [this](HttpRequest&& request, Responder respond) {
    nlohmann::json body = nlohmann::json::parse(request.body, nullptr, false);
    int status = 200;
    {
      MutexLock lock(&mu_);
      ++requests_;
      status = status_;
      if (status == 200 && !body.is_discarded()) {
        for (const auto& rs : body.value("resourceSpans", nlohmann::json::array())) {
          std::string service;
          for (const auto& a : rs["resource"].value("attributes", nlohmann::json::array())) {
            if (a.value("key", "") == "service.name") service = a["value"].value("stringValue", "");
          }
          for (const auto& ss : rs.value("scopeSpans", nlohmann::json::array())) {
            for (const auto& s : ss.value("spans", nlohmann::json::array())) {
              spans_.push_back(ReceivedSpan{service, s});
            }
          }
        }
      }
    }
    if (body.is_discarded()) return respond(ErrorResponse(400, "not JSON"));
    if (status != 200) return respond(ErrorResponse(status, "refused by the test"));
    respond(JsonResponse(200, "{}"));
  });
  HttpServerOptions options;
  options.port = 0;
  options.io_threads = 1;
  auto server = HttpServer::Create(options, &router_);
  if (!server.ok()) {
    ADD_FAILURE() << "OTLP receiver: " << server.status();
    return;
  }
  server_ = std::move(*server);
  server_->Start();
}

OtlpReceiver::~OtlpReceiver() {
  if (server_) server_->Stop();
}

std::string OtlpReceiver::endpoint() const {
  return "http://127.0.0.1:" + std::to_string(server_ ? server_->port() : 0) + "/v1/traces";
}

void OtlpReceiver::set_status(int status) {
  MutexLock lock(&mu_);
  status_ = status;
}

int OtlpReceiver::requests() const {
  MutexLock lock(&mu_);
  return requests_;
}

std::vector<ReceivedSpan> OtlpReceiver::spans() const {
  MutexLock lock(&mu_);
  return spans_;
}

std::vector<ReceivedSpan> OtlpReceiver::WaitFor(
    const std::function<bool(const std::vector<ReceivedSpan>&)>& done,
    std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::vector<ReceivedSpan> seen = spans();
  while (!done(seen) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    seen = spans();
  }
  return seen;
}

}  // namespace infera::testing
