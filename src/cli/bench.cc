// `infera bench --config FILE --model M`: the raw engine against the served model,
// in one run, on the same machine.
//
//  1. Raw engine: one backend of the model alone (RawEngineOptions: one instance on
//     every core; no HTTP, no batcher), one preprocessed
//     image repeated to each batch size, a closed loop for --seconds each. The best
//     batch size is the one with the highest images/s. The image is preprocessed by the
//     model's runner, so the engine gets the model's own input (dtype, layout; e.g.
//     UINT8 NHWC for `input.dtype: uint8`), printed and reported as raw_input.
//  2. Served: the same model behind the real HTTP server (port 0), closed-loop clients
//     (one keep-alive connection each, a LoadClient: the request built once, as wrk
//     does, so the load generator on the same cores costs little) POSTing the image
//     to /predict/M for each
//     --concurrency. Batching: max_batch_size the largest --batch-sizes and the model's
//     preferred batch sizes (auto: timed at load, the timings and the choice printed);
//     with `--preferred-batch-sizes none`, max_batch_size the best raw batch size (the
//     hand tuning preferred sizes replace); --max-batch-size sets it in either case.
//  3. Prints requests/s, p50/p99, the ratio served/raw at the best settings, and the
//     p50 latency added over the raw batch-1 forward at concurrency 1.
//  4. With 1 among the concurrencies, concurrency 1 again with raw and served samples
//     interleaved (MeasureInterleaved): one raw batch-1 forward and one request in turn,
//     so both see the same moments of a noisy machine; the p50 added there is the one
//     to read (step 3's compares two measurements taken seconds apart).
//
// `--beside M2` serves a second model next to it; during every served measurement one
// more client sends M2 its own generated image in a closed loop, and M2's requests/s,
// p50 and p99 are reported beside the measured model's (e.g. a small classifier's tail
// latency while a cellpose model is busy). `--image-size N` sets the generated image's
// side for models that keep the image size; a cellpose model gets synthetic cells.
//
// `--grpc` adds the protocols' comparison (BenchProtocols): after /predict, the same
// image through the Open Inference Protocol over HTTP (/v2/models/M/infer, BYTES input)
// and over gRPC (ModelInfer, server.grpc_port) at each concurrency, on the same server.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "api/http_client.h"
#include "backends/backend_registry.h"
#include "cellpose/synthetic_cells.h"
#include "cli/cli.h"
#include "cli/load_client.h"
#include "common/base64.h"
#include "common/strings.h"
#include "grpc/grpc_client.h"
#include "imaging/codec.h"
#include "models/model.h"
#include "runners/runner_registry.h"
#include "server/server.h"

namespace infera {

namespace {

using Clock = std::chrono::steady_clock;

// How long a benchmark client waits for one response.
constexpr std::chrono::milliseconds kClientTimeout{30000};

struct Measurement {
  double per_second = 0;  // images (raw) or requests (served) per second
  double p50_ms = 0;
  double p99_ms = 0;
  uint64_t count = 0;
  uint64_t errors = 0;
};

double Percentile(std::vector<double>& v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())));
  return v[i];
}

StatusOr<std::vector<int>> ParseList(const std::string& text) {
  std::vector<int> out;
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    int v = 0;
    if (!absl::SimpleAtoi(part, &v) || v < 1) {
      return absl::InvalidArgumentError(StrCat("bad list item '", part, "'"));
    }
    out.push_back(v);
  }
  if (out.empty()) return absl::InvalidArgumentError("empty list");
  return out;
}

// Synthetic cells (bright, textured ellipses on a dim noisy background) for a cellpose
// model: its mask reconstruction then does the work it does on real images.
StatusOr<std::vector<std::byte>> CellsImage(int side) {
  cellpose::SyntheticCellsOptions scene;
  scene.height = scene.width = side;
  scene.count = side * side / 1500;
  scene.min_radius = 8;
  scene.max_radius = 14;
  scene.touching = true;
  const cellpose::LabelImage labels = cellpose::MakeSyntheticCells(scene);
  Image image = MakeImage(side, side, 1, PixelType::kUInt8);
  auto* p = image.pixels<uint8_t>();
  cellpose::SplitMix64 noise(7);
  for (int64_t i = 0; i < static_cast<int64_t>(side) * side; ++i) {
    const double base = labels.labels[static_cast<size_t>(i)] > 0 ? 170.0 : 25.0;
    p[i] = static_cast<uint8_t>(std::clamp(base + noise.Uniform(-20.0, 20.0), 0.0, 255.0));
  }
  return EncodePng(image);
}

// A smooth RGB test pattern of the model's input size (or image_size x image_size when
// the model keeps the image size), PNG-encoded; for a cellpose model image_size x
// image_size synthetic cells.
StatusOr<std::vector<std::byte>> DefaultImage(const ModelConfig& config, int image_size) {
  const int keep = image_size > 0 ? image_size : 224;
  // Cellpose tiles images at their own scale (input.size is the tile): always cells.
  if (config.runner == "cellpose") return CellsImage(keep);
  const int h = config.input.size ? config.input.size->first : keep;
  const int w = config.input.size ? config.input.size->second : keep;
  Image image = MakeImage(w, h, 3, PixelType::kUInt8);
  auto* p = image.pixels<uint8_t>();
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      p[(y * w + x) * 3 + 0] = static_cast<uint8_t>(x * 255 / std::max(1, w - 1));
      p[(y * w + x) * 3 + 1] = static_cast<uint8_t>(y * 255 / std::max(1, h - 1));
      p[(y * w + x) * 3 + 2] = static_cast<uint8_t>((x + y) % 256);
    }
  }
  return EncodePng(image);
}

StatusOr<Measurement> MeasureRaw(const ModelConfig& config, const Runner& runner, const Tensor& row,
                                 int batch, double seconds) {
  ASSIGN_OR_RETURN(std::unique_ptr<Backend> backend,
                   CreateBackend(config.backend, RawEngineOptions(config, runner)));
  backend->PrepareThread();
  std::vector<const Tensor*> parts(static_cast<size_t>(batch), &row);
  ASSIGN_OR_RETURN(Tensor input, ConcatDim0(parts));
  std::vector<double> latencies;
  for (int i = 0; i < 3; ++i) {  // warm-up
    std::vector<Tensor> inputs{input};
    RETURN_IF_ERROR(backend->Execute(inputs).status());
  }
  const Clock::time_point start = Clock::now();
  const Clock::time_point end =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  Measurement m;
  while (Clock::now() < end || latencies.size() < 3) {
    std::vector<Tensor> inputs{input};
    const Clock::time_point t = Clock::now();
    RETURN_IF_ERROR(backend->Execute(inputs).status());
    latencies.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t).count());
  }
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  m.count = latencies.size() * static_cast<uint64_t>(batch);
  m.per_second = static_cast<double>(m.count) / elapsed;
  m.p50_ms = Percentile(latencies, 0.50);
  m.p99_ms = Percentile(latencies, 0.99);
  return m;
}

// Concurrency 1 with raw and served samples interleaved, for `seconds`: pairs of one raw
// batch-1 forward (on a raw engine built here, RawEngineOptions, run on this thread) and
// one POST `body` to `target`, the order alternating from pair to pair. Before each
// sample the thread sleeps `pause_ms` (--interleave-pause-ms), so that neither side starts while
// the other's OpenMP workers still spin (both pay the same wake-up). Step 3 compares a raw loop and
// a served loop measured seconds apart, and on a shared machine the raw batch-1 p50 alone moves by
// more than the millisecond being looked for; here a slow moment slows both. Reports each side's
// p50/p99 and the median of the paired differences.
struct Interleaved {
  Measurement raw;
  Measurement served;
  double median_paired_difference_ms = 0;
};

StatusOr<Interleaved> MeasureInterleaved(const ModelConfig& config, const Runner& runner,
                                         const Tensor& row, uint16_t port,
                                         const std::string& target, const std::string& body,
                                         double seconds, double pause_ms) {
  ASSIGN_OR_RETURN(std::unique_ptr<Backend> backend,
                   CreateBackend(config.backend, RawEngineOptions(config, runner)));
  backend->PrepareThread();
  ASSIGN_OR_RETURN(std::unique_ptr<LoadClient> client,
                   LoadClient::Open("127.0.0.1", port, "POST", target,
                                    {{"content-type", "application/json"}}, body, kClientTimeout));
  auto raw_once = [&]() -> StatusOr<double> {
    std::vector<Tensor> inputs{row};
    const Clock::time_point t = Clock::now();
    RETURN_IF_ERROR(backend->Execute(inputs).status());
    return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
  };
  auto served_once = [&]() -> StatusOr<double> {
    const Clock::time_point t = Clock::now();
    ASSIGN_OR_RETURN(int code, client->RoundTrip());
    if (code != 200) {
      return absl::InternalError(
          StrCat("interleaved: POST ", target, " answered ", code, ": ", client->last_body()));
    }
    return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
  };
  for (int i = 0; i < 3; ++i) {  // warm-up, both sides
    RETURN_IF_ERROR(raw_once().status());
    RETURN_IF_ERROR(served_once().status());
  }
  std::vector<double> raw, served, differences;
  const Clock::time_point start = Clock::now();
  const Clock::time_point end =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  while (Clock::now() < end || raw.size() < 3) {
    const bool raw_first = raw.size() % 2 == 0;
    double r = 0, s = 0;
    for (int side = 0; side < 2; ++side) {
      if (pause_ms > 0)
        std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(pause_ms));
      if ((side == 0) == raw_first) {
        ASSIGN_OR_RETURN(r, raw_once());
      } else {
        ASSIGN_OR_RETURN(s, served_once());
      }
    }
    raw.push_back(r);
    served.push_back(s);
    differences.push_back(s - r);
  }
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  Interleaved result;
  for (auto [m, v] : {std::pair{&result.raw, &raw}, std::pair{&result.served, &served}}) {
    m->count = v->size();
    m->per_second = static_cast<double>(v->size()) / elapsed;
    m->p50_ms = Percentile(*v, 0.50);
    m->p99_ms = Percentile(*v, 0.99);
  }
  result.median_paired_difference_ms = Percentile(differences, 0.50);
  return result;
}

// `concurrency` closed-loop clients for `seconds`: client c calls make_call(c) once (on
// its own thread) for its call, then repeats it, timing each success. make_call answers
// nullptr when the client cannot start (counted as one error).
Measurement MeasureClosedLoop(int concurrency, double seconds,
                              const std::function<std::function<bool()>(int)>& make_call) {
  std::vector<std::vector<double>> latencies(static_cast<size_t>(concurrency));
  std::atomic<uint64_t> errors{0};
  const Clock::time_point start = Clock::now();
  const Clock::time_point end =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  std::vector<std::thread> clients;
  for (int c = 0; c < concurrency; ++c) {
    clients.emplace_back([&, c] {
      std::function<bool()> call = make_call(c);
      if (!call) {
        ++errors;
        return;
      }
      while (Clock::now() < end) {
        const Clock::time_point t = Clock::now();
        if (!call()) {
          ++errors;
          continue;
        }
        latencies[static_cast<size_t>(c)].push_back(
            std::chrono::duration<double, std::milli>(Clock::now() - t).count());
      }
    });
  }
  for (auto& t : clients) t.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  std::vector<double> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  Measurement m;
  m.count = all.size();
  m.errors = errors.load();
  m.per_second = static_cast<double>(m.count) / elapsed;
  m.p50_ms = Percentile(all, 0.50);
  m.p99_ms = Percentile(all, 0.99);
  return m;
}

Measurement MeasureServed(uint16_t port, const std::string& target, const std::string& body,
                          int concurrency, double seconds,
                          const HttpHeaders& headers = {{"content-type", "application/json"}}) {
  return MeasureClosedLoop(concurrency, seconds, [&](int) -> std::function<bool()> {
    StatusOr<std::unique_ptr<LoadClient>> opened =
        LoadClient::Open("127.0.0.1", port, "POST", target, headers, body, kClientTimeout);
    if (!opened.ok()) return nullptr;
    std::shared_ptr<LoadClient> client = std::move(*opened);
    return [client] {
      StatusOr<int> code = client->RoundTrip();
      return code.ok() && *code == 200;
    };
  });
}

nlohmann::json ToJson(const Measurement& m);

// gRPC ModelInfer of `image` as the model's BYTES input, from `concurrency` closed-loop
// clients, each on its own channel (connection).
Measurement MeasureGrpc(uint16_t port, const std::string& model, const std::string& input,
                        const std::string& image, int concurrency, double seconds) {
  return MeasureClosedLoop(concurrency, seconds, [&](int) -> std::function<bool()> {
    auto client = std::make_shared<GrpcInferClient>("127.0.0.1", port);
    return
        [client, &model, &input, &image] { return client->InferImage(model, input, image).ok(); };
  });
}

// With --grpc: the Open Inference Protocol over HTTP (/v2/models/M/infer, the image as
// a BYTES input with the binary data extension, outputs binary) and over gRPC
// (ModelInfer, the same BYTES input, raw outputs) at each concurrency, in the same run,
// on the same server; served/raw ratios and the p50 added at concurrency 1.
StatusOr<nlohmann::json> BenchProtocols(const Server& server, const std::string& model,
                                        const std::string& image,
                                        const std::vector<int>& concurrencies, double seconds,
                                        const Measurement& best_raw,
                                        const Measurement& raw_batch1) {
  HttpClient meta(std::chrono::seconds(30));
  RETURN_IF_ERROR(meta.Connect("127.0.0.1", server.port()));
  ASSIGN_OR_RETURN(HttpResponse r, meta.Send("GET", "/v2/models/" + model, "", {}));
  const nlohmann::json m = nlohmann::json::parse(r.body, nullptr, false);
  if (r.status != 200 || !m.is_object()) {
    return absl::InternalError(StrCat("GET /v2/models/", model, ": ", r.body));
  }
  const std::string input = m["inputs"][0]["name"].get<std::string>();
  std::string element(4, '\0');
  const auto n = static_cast<uint32_t>(image.size());
  for (int i = 0; i < 4; ++i) element[static_cast<size_t>(i)] = static_cast<char>(n >> (8 * i));
  element += image;
  const std::string header =
      nlohmann::json{{"inputs",
                      {{{"name", input},
                        {"shape", {1}},
                        {"datatype", "BYTES"},
                        {"parameters", {{"binary_data_size", element.size()}}}}}},
                     {"parameters", {{"binary_data_output", true}}}}
          .dump();
  const std::string body = header + element;
  const HttpHeaders headers = {{"inference-header-content-length", std::to_string(header.size())},
                               {"content-type", "application/octet-stream"}};
  const std::string target = "/v2/models/" + model + "/infer";
  std::cout << absl::StrFormat(
      "\nprotocols: POST %s (BYTES, binary data extension) vs gRPC ModelInfer (BYTES, raw "
      "outputs) on port %d\n",
      target, server.grpc_port());
  std::cout << absl::StrFormat("%-12s %12s %10s %10s %8s   %12s %10s %10s %8s\n", "concurrency",
                               "http req/s", "p50 ms", "p99 ms", "errors", "grpc req/s", "p50 ms",
                               "p99 ms", "errors");
  nlohmann::json report;
  Measurement best_http, best_grpc, http1, grpc1;
  for (int c : concurrencies) {
    const Measurement h = MeasureServed(server.port(), target, body, c, seconds, headers);
    const Measurement g = MeasureGrpc(server.grpc_port(), model, input, image, c, seconds);
    std::cout << absl::StrFormat("%-12d %12.1f %10.2f %10.2f %8d   %12.1f %10.2f %10.2f %8d\n", c,
                                 h.per_second, h.p50_ms, h.p99_ms, h.errors, g.per_second, g.p50_ms,
                                 g.p99_ms, g.errors);
    report["http_v2"][std::to_string(c)] = ToJson(h);
    report["grpc"][std::to_string(c)] = ToJson(g);
    if (c == 1) {
      http1 = h;
      grpc1 = g;
    }
    if (h.per_second > best_http.per_second) best_http = h;
    if (g.per_second > best_grpc.per_second) best_grpc = g;
  }
  if (best_raw.per_second > 0) {
    report["http_v2_throughput_ratio"] = best_http.per_second / best_raw.per_second;
    report["grpc_throughput_ratio"] = best_grpc.per_second / best_raw.per_second;
    std::cout << absl::StrFormat(
        "throughput served/raw at best settings: http /v2 %.3f, grpc %.3f\n",
        best_http.per_second / best_raw.per_second, best_grpc.per_second / best_raw.per_second);
  }
  if (http1.count > 0 && grpc1.count > 0 && raw_batch1.count > 0) {
    report["http_v2_added_p50_ms_concurrency1"] = http1.p50_ms - raw_batch1.p50_ms;
    report["grpc_added_p50_ms_concurrency1"] = grpc1.p50_ms - raw_batch1.p50_ms;
    std::cout << absl::StrFormat(
        "added p50 latency at concurrency 1: http /v2 %.2f ms, grpc %.2f ms (raw %.2f)\n",
        http1.p50_ms - raw_batch1.p50_ms, grpc1.p50_ms - raw_batch1.p50_ms, raw_batch1.p50_ms);
  }
  return report;
}

nlohmann::json ToJson(const Measurement& m) {
  return {{"per_second", m.per_second},
          {"p50_ms", m.p50_ms},
          {"p99_ms", m.p99_ms},
          {"count", m.count},
          {"errors", m.errors}};
}

// --preferred-batch-sizes: auto, none, or a comma-separated list; empty: unchanged.
Status ApplyPreferredBatchSizes(const std::string& text, BatchingConfig* batching) {
  if (text.empty()) return absl::OkStatus();
  if (text == "auto") {
    batching->preferred_mode = PreferredBatchSizesMode::kAuto;
  } else if (text == "none") {
    batching->preferred_mode = PreferredBatchSizesMode::kNone;
  } else {
    StatusOr<std::vector<int>> list = ParseList(text);
    if (!list.ok()) {
      return absl::InvalidArgumentError(
          StrCat("--preferred-batch-sizes: auto, none or a list such as 1,4 (",
                 list.status().message(), ")"));
    }
    batching->preferred_mode = PreferredBatchSizesMode::kList;
    batching->preferred_batch_sizes.assign(list->begin(), list->end());
    std::sort(batching->preferred_batch_sizes.begin(), batching->preferred_batch_sizes.end());
  }
  return absl::OkStatus();
}

std::string PreferredText(const nlohmann::json& sizes) {
  const nlohmann::json& preferred = sizes["preferred"];
  if (preferred.empty()) return "none (any size)";
  std::vector<std::string> parts;
  for (const auto& b : preferred) parts.push_back(std::to_string(b.get<int64_t>()));
  return StrCat("{", StrJoin(parts, ", "), "}");
}

// The served model's preferred batch sizes as it describes them (GET /v1/models/M), and
// for auto its batch-size timings, printed as a table.
StatusOr<nlohmann::json> PrintBatchSizes(uint16_t port, const std::string& model) {
  HttpClient client(std::chrono::seconds(30));
  RETURN_IF_ERROR(client.Connect("127.0.0.1", port));
  ASSIGN_OR_RETURN(HttpResponse r, client.Send("GET", "/v1/models/" + model, "", {}));
  if (r.status != 200) return absl::InternalError(StrCat("GET /v1/models/", model, ": ", r.body));
  nlohmann::json sizes =
      nlohmann::json::parse(r.body, nullptr, false)["batching"]["preferred_batch_sizes"];
  if (!sizes.is_object()) return absl::InternalError("no batching.preferred_batch_sizes");
  if (sizes.value("mode", "") != "auto") return sizes;
  std::cout << absl::StrFormat(
      "batch sizes timed at load (%s, budget %d ms, spent %d ms)%s\n", sizes.value("source", ""),
      sizes.value("budget_ms", 0), sizes.value("timing_ms", 0),
      sizes.contains("note") ? StrCat(": ", sizes["note"].get<std::string>()) : std::string());
  std::cout << absl::StrFormat("%-12s %10s %14s %8s %10s\n", "batch", "ms", "ms per image",
                               "samples", "preferred");
  for (const nlohmann::json& t : sizes.value("timings", nlohmann::json::array())) {
    const bool timed = t["ms"].is_number();
    std::cout << absl::StrFormat(
        "%-12d %10s %14s %8d %10s\n", t["batch_size"].get<int>(),
        timed ? absl::StrFormat("%.2f", t["ms"].get<double>()) : "-",
        timed ? absl::StrFormat("%.2f", t["ms_per_image"].get<double>()) : "-",
        t["samples"].get<int>(), t["preferred"].get<bool>() ? "yes" : "");
  }
  return sizes;
}

// Measures one model (raw engine at each batch size, then served at each concurrency)
// and returns its report.
StatusOr<nlohmann::json> BenchModel(const BenchOptions& options, const ServerConfig& config,
                                    const std::string& name) {
  ASSIGN_OR_RETURN(std::vector<int> concurrencies, ParseList(options.concurrency));
  ASSIGN_OR_RETURN(std::vector<int> batch_sizes, ParseList(options.batch_sizes));
  const std::vector<ModelConfig>& models = config.model_sources.models;
  auto it = std::find_if(models.begin(), models.end(),
                         [&](const ModelConfig& m) { return m.name == name; });
  if (it == models.end()) {
    return absl::NotFoundError(StrCat("no model '", name, "' in ", options.config));
  }
  ModelConfig model = *it;

  std::vector<std::byte> image_bytes;
  if (options.image.empty()) {
    ASSIGN_OR_RETURN(image_bytes, DefaultImage(model, options.image_size));
  } else {
    std::ifstream in(options.image, std::ios::binary);
    if (!in) return absl::NotFoundError(StrCat("cannot read ", options.image));
    std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    image_bytes.resize(data.size());
    std::memcpy(image_bytes.data(), data.data(), data.size());
  }
  ASSIGN_OR_RETURN(Image image, DecodeImage(image_bytes));
  const Runner* runner = FindRunner(model.runner);
  ASSIGN_OR_RETURN(nlohmann::json params, runner->ResolveParams(nlohmann::json(), model));
  ASSIGN_OR_RETURN(RunnerInput input, runner->Preprocess(image, model, params));
  const std::vector<Tensor>& rows = input.items.at(0);

  // The raw engine's input is the runner's own preprocessing of the image, so it has the
  // model's input dtype and layout (UINT8 NHWC for `input.dtype: uint8`), as served.
  const Tensor& row = rows[0];
  nlohmann::json report = {
      {"model", model.name},
      {"backend", model.backend},
      {"seconds", options.seconds},
      {"raw_input", {{"datatype", std::string(DTypeName(row.dtype()))}, {"shape", row.shape()}}}};
  std::cout << absl::StrFormat("raw engine: %s (%s), %s, input %s %s\n", model.name, model.backend,
                               model.artifact.string(), DTypeName(row.dtype()),
                               ShapeToString(row.shape()));
  std::cout << absl::StrFormat("%-12s %12s %10s %10s\n", "batch", "images/s", "p50 ms", "p99 ms");
  int best_batch = batch_sizes[0];
  Measurement best_raw, raw_batch1;
  for (int b : batch_sizes) {
    ASSIGN_OR_RETURN(Measurement m, MeasureRaw(model, *runner, row, b, options.seconds));
    std::cout << absl::StrFormat("%-12d %12.1f %10.2f %10.2f\n", b, m.per_second, m.p50_ms,
                                 m.p99_ms);
    report["raw"][std::to_string(b)] = ToJson(m);
    if (b == 1) raw_batch1 = m;
    if (m.per_second > best_raw.per_second) {
      best_raw = m;
      best_batch = b;
    }
  }
  std::cout << absl::StrFormat("best raw batch size: %d (%.1f images/s)\n\n", best_batch,
                               best_raw.per_second);

  RETURN_IF_ERROR(ApplyPreferredBatchSizes(options.preferred_batch_sizes, &model.batching));
  if (options.max_batch_size > 0) {
    model.batching.max_batch_size = options.max_batch_size;
  } else if (model.batching.preferred_mode == PreferredBatchSizesMode::kNone) {
    model.batching.max_batch_size = std::max(best_batch, 1);
  } else {
    model.batching.max_batch_size = *std::max_element(batch_sizes.begin(), batch_sizes.end());
  }
  if (model.batching.preferred_mode == PreferredBatchSizesMode::kList &&
      model.batching.preferred_batch_sizes.back() > model.batching.max_batch_size) {
    return absl::InvalidArgumentError(
        StrCat("--preferred-batch-sizes: sizes must be at most the served max_batch_size (",
               model.batching.max_batch_size, ")"));
  }
  if (options.timing_budget_ms >= 0) {
    model.batching.batch_timing_budget_ms = options.timing_budget_ms;
  }
  if (options.max_queue_delay_ms >= 0)
    model.batching.max_queue_delay_ms = options.max_queue_delay_ms;
  model.warmup.batch_sizes.clear();
  ServerConfig served = config;
  served.model_sources.models = {model};
  std::string beside_body;
  if (!options.beside.empty()) {
    auto b = std::find_if(models.begin(), models.end(),
                          [&](const ModelConfig& m) { return m.name == options.beside; });
    if (b == models.end()) {
      return absl::NotFoundError(StrCat("no model '", options.beside, "' in ", options.config));
    }
    ASSIGN_OR_RETURN(std::vector<std::byte> beside_image, DefaultImage(*b, 0));
    beside_body =
        nlohmann::json{{"image", Base64Encode(beside_image.data(), beside_image.size())}}.dump();
    served.model_sources.models.push_back(*b);
  }
  served.http.host = "127.0.0.1";
  served.http.port = 0;
  served.grpc.enabled = options.grpc;
  served.grpc.port = 0;
  served.front_end.access_log = false;
  ASSIGN_OR_RETURN(std::unique_ptr<Server> server, Server::Create(served));
  server->Start();
  const std::string body =
      nlohmann::json{{"image", Base64Encode(image_bytes.data(), image_bytes.size())}}.dump();
  const std::string target = "/predict/" + model.name;
  ASSIGN_OR_RETURN(nlohmann::json sizes, PrintBatchSizes(server->port(), model.name));
  report["preferred_batch_sizes"] = sizes;
  std::cout << absl::StrFormat(
      "served: POST %s (max_batch_size %d, preferred batch sizes %s, max_queue_delay_ms %.1f)\n",
      target, model.batching.max_batch_size, PreferredText(sizes),
      model.batching.max_queue_delay_ms);
  std::cout << absl::StrFormat("%-12s %12s %10s %10s %8s", "concurrency", "requests/s", "p50 ms",
                               "p99 ms", "errors");
  if (!beside_body.empty()) {
    std::cout << absl::StrFormat("   beside %s: %10s %10s %10s", options.beside, "requests/s",
                                 "p50 ms", "p99 ms");
  }
  std::cout << "\n";
  Measurement best_served, served1;
  for (int c : concurrencies) {
    Measurement beside;
    std::thread beside_client;
    if (!beside_body.empty()) {
      beside_client = std::thread([&] {
        beside = MeasureServed(server->port(), "/predict/" + options.beside, beside_body, 1,
                               options.seconds);
      });
    }
    Measurement m = MeasureServed(server->port(), target, body, c, options.seconds);
    if (beside_client.joinable()) beside_client.join();
    std::cout << absl::StrFormat("%-12d %12.1f %10.2f %10.2f %8d", c, m.per_second, m.p50_ms,
                                 m.p99_ms, m.errors);
    if (!beside_body.empty()) {
      std::cout << absl::StrFormat("   %*s %10.1f %10.2f %10.2f",
                                   static_cast<int>(options.beside.size()) + 8, "",
                                   beside.per_second, beside.p50_ms, beside.p99_ms);
      report["beside"]["model"] = options.beside;
      report["beside"]["served"][std::to_string(c)] = ToJson(beside);
    }
    std::cout << "\n";
    report["served"][std::to_string(c)] = ToJson(m);
    if (c == 1) served1 = m;
    if (m.per_second > best_served.per_second) best_served = m;
  }
  Interleaved interleaved;
  if (served1.count > 0) {
    ASSIGN_OR_RETURN(interleaved,
                     MeasureInterleaved(model, *runner, row, server->port(), target, body,
                                        options.seconds, options.interleave_pause_ms));
  }
  if (options.grpc) {
    ASSIGN_OR_RETURN(report["protocols"],
                     BenchProtocols(*server, model.name,
                                    std::string(reinterpret_cast<const char*>(image_bytes.data()),
                                                image_bytes.size()),
                                    concurrencies, options.seconds, best_raw, raw_batch1));
  }
  server->Stop();

  const double ratio = best_raw.per_second > 0 ? best_served.per_second / best_raw.per_second : 0;
  std::cout << absl::StrFormat("\nthroughput served/raw at best settings: %.3f\n", ratio);
  report["best_batch_size"] = best_batch;
  report["best_raw_per_second"] = best_raw.per_second;
  report["best_served_per_second"] = best_served.per_second;
  report["throughput_ratio"] = ratio;
  if (served1.count > 0 && raw_batch1.count > 0) {
    const double added = served1.p50_ms - raw_batch1.p50_ms;
    std::cout << absl::StrFormat("added p50 latency at concurrency 1: %.2f ms (%.2f vs %.2f)\n",
                                 added, served1.p50_ms, raw_batch1.p50_ms);
    report["added_p50_ms_concurrency1"] = added;
  }
  if (interleaved.raw.count > 0) {
    const double added = interleaved.served.p50_ms - interleaved.raw.p50_ms;
    std::cout << absl::StrFormat(
        "interleaved at concurrency 1 (%d pairs, %.0f ms pauses): served p50 %.2f ms, raw batch-1 "
        "p50 %.2f ms, "
        "added p50 %.2f ms (median paired difference %.2f ms)\n",
        interleaved.raw.count, options.interleave_pause_ms, interleaved.served.p50_ms,
        interleaved.raw.p50_ms, added, interleaved.median_paired_difference_ms);
    report["interleaved_concurrency1"] = {
        {"raw", ToJson(interleaved.raw)},
        {"served", ToJson(interleaved.served)},
        {"added_p50_ms", added},
        {"median_paired_difference_ms", interleaved.median_paired_difference_ms},
        {"pause_ms", options.interleave_pause_ms}};
  }
  return report;
}

Status Bench(const BenchOptions& options) {
  ASSIGN_OR_RETURN(ServerConfig config, LoadServerConfig(options.config));
  const std::vector<std::string> names = absl::StrSplit(options.model, ',', absl::SkipEmpty());
  if (names.empty()) return absl::InvalidArgumentError("--model names no model");
  nlohmann::json reports = nlohmann::json::array();
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) std::cout << "\n";
    ASSIGN_OR_RETURN(nlohmann::json report, BenchModel(options, config, names[i]));
    reports.push_back(std::move(report));
  }
  if (reports.size() > 1) {
    // Side by side, as ratios to the first model (the same machine, the same run).
    const nlohmann::json& base = reports[0];
    std::cout << absl::StrFormat("\ncompared with %s (%s):\n", base["model"].get<std::string>(),
                                 base["backend"].get<std::string>());
    std::cout << absl::StrFormat("%-20s %-12s %12s %12s %10s %10s\n", "model", "backend",
                                 "raw img/s", "served req/s", "raw x", "served x");
    for (const nlohmann::json& r : reports) {
      const double raw = r["best_raw_per_second"].get<double>();
      const double served = r["best_served_per_second"].get<double>();
      const double base_raw = base["best_raw_per_second"].get<double>();
      const double base_served = base["best_served_per_second"].get<double>();
      std::cout << absl::StrFormat("%-20s %-12s %12.1f %12.1f %10.3f %10.3f\n",
                                   r["model"].get<std::string>(), r["backend"].get<std::string>(),
                                   raw, served, base_raw > 0 ? raw / base_raw : 0.0,
                                   base_served > 0 ? served / base_served : 0.0);
    }
  }
  if (!options.output_json.empty()) {
    std::ofstream out(options.output_json);
    out << (reports.size() == 1 ? reports[0] : reports).dump(2) << "\n";
  }
  return absl::OkStatus();
}

}  // namespace

int RunBench(const BenchOptions& options) {
  Status s = Bench(options);
  if (!s.ok()) {
    std::cerr << "infera bench: " << s.message() << "\n";
    return 1;
  }
  return 0;
}

}  // namespace infera
