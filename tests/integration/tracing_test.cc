// Tracing end to end: the real server (in-process, real HTTP) exporting OTLP/HTTP JSON to
// a real receiver started by the test (support/otlp_receiver.h), checked span by span:
// the request's tree (parent ids), the batch spans' links, attributes, propagation of an
// incoming traceparent, sampling at rate 0 and 1, dataset jobs, and a dead endpoint.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "api/http_client.h"
#include "common/base64.h"
#include "support/multipart_body.h"
#include "support/otlp_receiver.h"
#include "support/status_matchers.h"
#include "support/test_env.h"

namespace infera {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::OtlpReceiver;
using testing::ReceivedSpan;

constexpr char kIncomingTrace[] = "4bf92f3577b34da6a3ce929d0e0e4736";
constexpr char kIncomingSpan[] = "00f067aa0ba902b7";

std::string ImageBody(const std::string& image) {
  const std::string bytes = testing::ReadFile(testing::TestModelsDir() / "images" / image);
  return json{{"image", Base64Encode(bytes.data(), bytes.size())}}.dump();
}

// A server with tiny_cls and `tracing: {endpoint, rate}`.
struct TracedServer {
  TracedServer(const std::string& endpoint, double rate) {
    testing::CopyModel("tiny_cls", dir.path() / "repo");
    server = testing::StartServer(
        dir.path(), "model_repository: repo\ntracing: {endpoint: " + endpoint +
                        ", rate: " + std::to_string(rate) + ", service_name: infera-test}\n");
    if (server != nullptr) {
      const Status connected = client.Connect("127.0.0.1", server->port());
      EXPECT_TRUE(connected.ok()) << connected;
    }
  }
  HttpResponse Send(const std::string& method, const std::string& target,
                    const std::string& body = "", const HttpHeaders& headers = {}) {
    StatusOr<HttpResponse> r = client.Send(method, target, body, headers);
    EXPECT_TRUE(r.ok()) << r.status();
    if (r.ok()) return *r;
    HttpResponse failed;
    failed.status = 0;
    return failed;
  }
  HttpResponse Predict(const HttpHeaders& headers = {}) {
    HttpHeaders h = headers;
    h["content-type"] = "application/json";
    return Send("POST", "/predict/tiny_cls", ImageBody("disk.png"), h);
  }
  testing::TempDir dir;
  std::unique_ptr<Server> server;
  HttpClient client;
};

std::string TraceIdOf(const std::string& traceparent) {
  return traceparent.size() == 55 ? traceparent.substr(3, 32) : "";
}

std::vector<ReceivedSpan> InTrace(const std::vector<ReceivedSpan>& spans,
                                  const std::string& trace) {
  std::vector<ReceivedSpan> out;
  for (const ReceivedSpan& s : spans) {
    if (s.trace_id() == trace) out.push_back(s);
  }
  return out;
}

const ReceivedSpan* Named(const std::vector<ReceivedSpan>& spans, const std::string& name) {
  for (const ReceivedSpan& s : spans) {
    if (s.name() == name) return &s;
  }
  return nullptr;
}

int64_t IntAttribute(const ReceivedSpan& s, const std::string& key) {
  const json v = s.attribute(key);
  return v.is_object() && v.contains("intValue") ? std::stoll(v["intValue"].get<std::string>())
                                                 : -1;
}

// The batch spans linking to `span_id`.
std::vector<ReceivedSpan> BatchesLinking(const std::vector<ReceivedSpan>& spans,
                                         const std::string& span_id) {
  std::vector<ReceivedSpan> out;
  for (const ReceivedSpan& s : spans) {
    if (!s.name().starts_with("batch ")) continue;
    for (const auto& link : s.span.value("links", json::array())) {
      if (link.value("spanId", "") == span_id) out.push_back(s);
    }
  }
  return out;
}

TEST(TracingTest, PredictContinuesTheIncomingTraceWithItsSpanTree) {
  OtlpReceiver receiver;
  TracedServer s(receiver.endpoint(), 0.0);  // the sampled parent is traced at rate 0
  ASSERT_NE(s.server, nullptr);
  const std::string incoming = std::string("00-") + kIncomingTrace + "-" + kIncomingSpan + "-01";
  HttpResponse r = s.Predict({{"traceparent", incoming},
                              {"tracestate", "vendor=abc"},
                              {"x-request-id", "trace-test-1"},
                              {"user-agent", "tracing-test"}});
  ASSERT_EQ(r.status, 200) << r.body;
  // The response names our span in the caller's trace.
  const std::string returned = r.headers["traceparent"];
  ASSERT_EQ(returned.size(), 55u) << returned;
  EXPECT_EQ(TraceIdOf(returned), kIncomingTrace);
  EXPECT_TRUE(returned.ends_with("-01"));
  const std::string server_span = returned.substr(36, 16);
  EXPECT_NE(server_span, kIncomingSpan);

  const std::vector<std::string> stages = {"preprocess", "queue wait", "compute", "postprocess"};
  std::vector<ReceivedSpan> spans = receiver.WaitFor([&](const auto& all) {
    const auto trace = InTrace(all, kIncomingTrace);
    for (const std::string& stage : stages) {
      if (Named(trace, stage) == nullptr) return false;
    }
    return Named(trace, "POST /predict/{model}") != nullptr &&
           !BatchesLinking(all, server_span).empty();
  });
  const std::vector<ReceivedSpan> trace = InTrace(spans, kIncomingTrace);
  const ReceivedSpan* root = Named(trace, "POST /predict/{model}");
  ASSERT_NE(root, nullptr) << "spans received: " << spans.size();
  EXPECT_EQ(root->service_name, "infera-test");
  EXPECT_EQ(root->span_id(), server_span);
  EXPECT_EQ(root->parent_span_id(), kIncomingSpan);
  EXPECT_EQ(root->span.value("kind", 0), 2);  // SERVER
  EXPECT_EQ(root->span.value("traceState", ""), "vendor=abc");
  EXPECT_EQ(root->string_attribute("http.request.method"), "POST");
  EXPECT_EQ(root->string_attribute("http.route"), "/predict/{model}");
  EXPECT_EQ(root->string_attribute("url.path"), "/predict/tiny_cls");
  EXPECT_EQ(root->string_attribute("url.scheme"), "http");
  EXPECT_EQ(IntAttribute(*root, "http.response.status_code"), 200);
  EXPECT_EQ(root->string_attribute("server.address"), "127.0.0.1");
  EXPECT_EQ(IntAttribute(*root, "server.port"), s.server->port());
  EXPECT_EQ(root->string_attribute("user_agent.original"), "tracing-test");
  EXPECT_EQ(root->string_attribute("infera.request.id"), "trace-test-1");
  EXPECT_EQ(root->string_attribute("infera.model.name"), "tiny_cls");
  EXPECT_EQ(IntAttribute(*root, "infera.model.version"), 1);
  EXPECT_FALSE(root->string_attribute("client.address").empty());
  // Every stage is a child of the request's span, inside its time.
  for (const std::string& stage : stages) {
    const ReceivedSpan* child = Named(trace, stage);
    ASSERT_NE(child, nullptr) << stage;
    EXPECT_EQ(child->parent_span_id(), server_span) << stage;
    EXPECT_GE(std::stoll(child->span["startTimeUnixNano"].get<std::string>()),
              std::stoll(root->span["startTimeUnixNano"].get<std::string>()))
        << stage;
  }
  // The batch execution: its own trace, linked to the request, with its size; the
  // request's compute span links back to it.
  const std::vector<ReceivedSpan> batches = BatchesLinking(spans, server_span);
  ASSERT_EQ(batches.size(), 1u);
  const ReceivedSpan& batch = batches[0];
  EXPECT_EQ(batch.name(), "batch tiny_cls");
  EXPECT_NE(batch.trace_id(), kIncomingTrace);
  EXPECT_EQ(batch.parent_span_id(), "");
  EXPECT_GE(IntAttribute(batch, "infera.batch.size"), 1);
  EXPECT_EQ(batch.string_attribute("infera.model.name"), "tiny_cls");
  const json compute_links = Named(trace, "compute")->span.value("links", json::array());
  ASSERT_EQ(compute_links.size(), 1u);
  EXPECT_EQ(compute_links[0]["spanId"], batch.span_id());
  EXPECT_EQ(compute_links[0]["traceId"], batch.trace_id());
}

TEST(TracingTest, OneBatchSpanLinksEveryRequestItServed) {
  OtlpReceiver receiver;
  TracedServer s(receiver.endpoint(), 1.0);
  ASSERT_NE(s.server, nullptr);
  // Concurrent requests, so that batches of several requests form (max_batch_size 8).
  constexpr int kClients = 6;
  constexpr int kEach = 4;
  std::vector<std::string> request_spans[kClients];
  std::vector<std::thread> threads;
  const uint16_t port = s.server->port();
  const std::string body = ImageBody("disk.png");
  for (int c = 0; c < kClients; ++c) {
    threads.emplace_back([&, c] {
      HttpClient client;
      ASSERT_OK(client.Connect("127.0.0.1", port));
      for (int i = 0; i < kEach; ++i) {
        StatusOr<HttpResponse> r =
            client.Send("POST", "/predict/tiny_cls", body, {{"content-type", "application/json"}});
        ASSERT_OK(r.status());
        ASSERT_EQ(r->status, 200);
        request_spans[c].push_back(r->headers["traceparent"].substr(36, 16));
      }
    });
  }
  for (std::thread& t : threads) t.join();
  std::set<std::string> requests;
  for (const auto& list : request_spans) requests.insert(list.begin(), list.end());
  ASSERT_EQ(requests.size(), static_cast<size_t>(kClients * kEach));

  // Every request is linked from exactly one batch span; each batch's request count
  // equals its links, and its rows cover them.
  auto linked = [&](const std::vector<ReceivedSpan>& all) {
    std::map<std::string, int> count;
    for (const ReceivedSpan& b : all) {
      if (!b.name().starts_with("batch ")) continue;
      for (const auto& link : b.span.value("links", json::array())) ++count[link["spanId"]];
    }
    return count;
  };
  std::vector<ReceivedSpan> spans = receiver.WaitFor([&](const auto& all) {
    const auto count = linked(all);
    for (const std::string& r : requests) {
      if (!count.contains(r)) return false;
    }
    return true;
  });
  const auto count = linked(spans);
  for (const std::string& r : requests) EXPECT_EQ(count.contains(r) ? count.at(r) : 0, 1) << r;
  for (const ReceivedSpan& b : spans) {
    if (!b.name().starts_with("batch ")) continue;
    const size_t links = b.span.value("links", json::array()).size();
    EXPECT_EQ(IntAttribute(b, "infera.batch.requests"), static_cast<int64_t>(links));
    EXPECT_GE(IntAttribute(b, "infera.batch.size"), static_cast<int64_t>(links));
  }
  // Without a traceparent each request started its own trace (rate 1: all sampled).
  std::set<std::string> traces;
  for (const ReceivedSpan& sp : spans) {
    if (sp.name() == "POST /predict/{model}") {
      traces.insert(sp.trace_id());
      EXPECT_EQ(sp.parent_span_id(), "");
    }
  }
  EXPECT_EQ(traces.size(), requests.size());
}

TEST(TracingTest, RateZeroRecordsNothingButStillAnswersTraceparent) {
  OtlpReceiver receiver;
  TracedServer s(receiver.endpoint(), 0.0);
  ASSERT_NE(s.server, nullptr);
  std::set<std::string> unsampled;
  for (int i = 0; i < 5; ++i) {
    HttpResponse r = s.Predict();
    ASSERT_EQ(r.status, 200);
    ASSERT_EQ(r.headers["traceparent"].size(), 55u);
    EXPECT_TRUE(r.headers["traceparent"].ends_with("-00"));  // not sampled
    unsampled.insert(TraceIdOf(r.headers["traceparent"]));
  }
  // An unsampled caller is not traced either; its trace id is kept.
  const std::string unsampled_parent =
      std::string("00-") + kIncomingTrace + "-" + kIncomingSpan + "-00";
  HttpResponse r = s.Predict({{"traceparent", unsampled_parent}});
  EXPECT_EQ(TraceIdOf(r.headers["traceparent"]), kIncomingTrace);
  EXPECT_TRUE(r.headers["traceparent"].ends_with("-00"));
  // A sampled caller afterwards: spans are exported in the order they end, so once its
  // span is in, any span of the requests before it would be too.
  const std::string marker = "0af7651916cd43dd8448eb211c80319c";
  r = s.Send("GET", "/health", "", {{"traceparent", "00-" + marker + "-b7ad6b7169203331-01"}});
  EXPECT_EQ(r.status, 200);
  std::vector<ReceivedSpan> spans =
      receiver.WaitFor([&](const auto& all) { return !InTrace(all, marker).empty(); });
  ASSERT_EQ(InTrace(spans, marker).size(), 1u);
  for (const ReceivedSpan& sp : receiver.spans()) {
    EXPECT_EQ(sp.trace_id(), marker) << sp.name();
  }
}

TEST(TracingTest, InvalidTraceparentStartsANewTrace) {
  OtlpReceiver receiver;
  TracedServer s(receiver.endpoint(), 1.0);
  ASSERT_NE(s.server, nullptr);
  HttpResponse r =
      s.Send("GET", "/health", "",
             {{"traceparent", std::string("00-") + kIncomingTrace + "-" + "0000000000000000-01"}});
  ASSERT_EQ(r.status, 200);
  const std::string trace = TraceIdOf(r.headers["traceparent"]);
  EXPECT_NE(trace, kIncomingTrace);
  std::vector<ReceivedSpan> spans =
      receiver.WaitFor([&](const auto& all) { return !InTrace(all, trace).empty(); });
  ASSERT_EQ(InTrace(spans, trace).size(), 1u);
  EXPECT_EQ(InTrace(spans, trace)[0].parent_span_id(), "");
  EXPECT_EQ(InTrace(spans, trace)[0].name(), "GET /health");
}

TEST(TracingTest, ErrorsMarkTheRequestSpan) {
  OtlpReceiver receiver;
  TracedServer s(receiver.endpoint(), 1.0);
  ASSERT_NE(s.server, nullptr);
  HttpResponse r = s.Send("POST", "/predict/tiny_cls", "{\"image\": \"bm90IGFuIGltYWdl\"}",
                          {{"content-type", "application/json"}});
  ASSERT_EQ(r.status, 400);
  const std::string trace = TraceIdOf(r.headers["traceparent"]);
  std::vector<ReceivedSpan> spans = receiver.WaitFor([&](const auto& all) {
    return Named(InTrace(all, trace), "preprocess") != nullptr &&
           Named(InTrace(all, trace), "POST /predict/{model}") != nullptr;
  });
  const std::vector<ReceivedSpan> in = InTrace(spans, trace);
  const ReceivedSpan* pre = Named(in, "preprocess");
  ASSERT_NE(pre, nullptr);
  EXPECT_EQ(pre->span["status"]["code"], 2);  // ERROR: the image did not decode
  const ReceivedSpan* root = Named(in, "POST /predict/{model}");
  ASSERT_NE(root, nullptr);
  EXPECT_EQ(IntAttribute(*root, "http.response.status_code"), 400);
  EXPECT_FALSE(root->span.contains("status"));  // 4xx is the client's error, not ours
}

TEST(TracingTest, JobsAreTracedPerJobAndPerImage) {
  OtlpReceiver receiver;
  TracedServer s(receiver.endpoint(), 1.0);
  ASSERT_NE(s.server, nullptr);
  HttpResponse d = s.Send("POST", "/api/datasets", json{{"name", "traced"}}.dump());
  ASSERT_EQ(d.status, 201) << d.body;
  const int64_t dataset = json::parse(d.body)["id"];
  const auto file = [](const std::string& name) {
    return testing::FormPart{"files", name,
                             testing::ReadFile(testing::TestModelsDir() / "images" / name)};
  };
  HttpResponse up = s.Send("POST", "/api/datasets/" + std::to_string(dataset) + "/files",
                           testing::MultipartBody({file("disk.png"), file("square.png")}),
                           {{"Content-Type", testing::MultipartContentType()}});
  ASSERT_EQ(up.status, 201) << up.body;
  HttpResponse start = s.Send("POST", "/api/inferences/start",
                              json{{"dataset_id", dataset}, {"model_id", "tiny_cls"}}.dump());
  ASSERT_EQ(start.status, 202) << start.body;

  auto job_span = [](const std::vector<ReceivedSpan>& all) -> const ReceivedSpan* {
    return Named(all, "job inference");
  };
  std::vector<ReceivedSpan> spans = receiver.WaitFor([&](const auto& all) {
    const ReceivedSpan* job = job_span(all);
    if (job == nullptr) return false;
    const auto trace = InTrace(all, job->trace_id());
    int images = 0;
    for (const ReceivedSpan& sp : trace) images += sp.name() == "image" ? 1 : 0;
    return images == 2 && Named(trace, "store finish") != nullptr;
  });
  const ReceivedSpan* job = job_span(spans);
  ASSERT_NE(job, nullptr);
  EXPECT_EQ(job->parent_span_id(), "");
  EXPECT_EQ(job->string_attribute("infera.job.kind"), "inference");
  EXPECT_EQ(job->string_attribute("infera.job.status"), "completed");
  const std::vector<ReceivedSpan> trace = InTrace(spans, job->trace_id());
  ASSERT_NE(Named(trace, "store claim"), nullptr);
  EXPECT_EQ(Named(trace, "store claim")->parent_span_id(), job->span_id());
  ASSERT_NE(Named(trace, "store finish"), nullptr);
  EXPECT_EQ(Named(trace, "store finish")->parent_span_id(), job->span_id());
  std::set<std::string> files;
  for (const ReceivedSpan& image : trace) {
    if (image.name() != "image") continue;
    EXPECT_EQ(image.parent_span_id(), job->span_id());
    files.insert(image.string_attribute("infera.file.name"));
    // Each image's stages hang from it.
    std::set<std::string> stages;
    for (const ReceivedSpan& sp : trace) {
      if (sp.parent_span_id() == image.span_id()) stages.insert(sp.name());
    }
    EXPECT_EQ(stages, (std::set<std::string>{"preprocess", "queue wait", "compute", "postprocess",
                                             "store save result"}));
    EXPECT_EQ(BatchesLinking(spans, image.span_id()).size(), 1u);
  }
  EXPECT_EQ(files, (std::set<std::string>{"disk.png", "square.png"}));
}

TEST(TracingTest, ADeadEndpointCostsRequestsNothingAndIsCounted) {
  // A port that was free a moment ago: nothing listens there.
  uint16_t dead_port = 0;
  {
    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor a(
        io, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
    dead_port = a.local_endpoint().port();
  }
  TracedServer s("http://127.0.0.1:" + std::to_string(dead_port) + "/v1/traces", 1.0);
  ASSERT_NE(s.server, nullptr);
  for (int i = 0; i < 20; ++i) {
    HttpResponse r = s.Predict();
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_TRUE(r.headers["traceparent"].ends_with("-01"));
  }
  // The spans could not be sent: counted as failed (or dropped), never blocking.
  auto lost = [&s]() -> double {
    const std::string metrics = s.Send("GET", "/metrics").body;
    double total = 0;
    for (const char* name :
         {"infera_tracing_spans_failed_total ", "infera_tracing_spans_dropped_total "}) {
      const size_t at = metrics.find(std::string("\n") + name);
      if (at != std::string::npos) total += std::stod(metrics.substr(at + 1 + strlen(name)));
    }
    return total;
  };
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (lost() < 20 * 5 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  // 20 requests, each with at least its span and 4 stages (+ the batches).
  EXPECT_GE(lost(), 20 * 5);
  const std::string metrics = s.Send("GET", "/metrics").body;
  EXPECT_NE(metrics.find("infera_tracing_spans_exported_total 0"), std::string::npos);
}

}  // namespace
}  // namespace infera
