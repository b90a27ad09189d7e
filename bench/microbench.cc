// Micro-benchmarks of what the server adds around the engine: base64, PNG decode,
// preprocessing (resize + normalise), and the batch policy decision.
#include <benchmark/benchmark.h>

#include "api/oip/inference_codec.h"
#include "batching/batch_policy.h"
#include "common/base64.h"
#include "imaging/codec.h"
#include "imaging/preprocess.h"

namespace infera {
namespace {

Image Pattern(int w, int h) {
  Image image = MakeImage(w, h, 3, PixelType::kUInt8);
  auto* p = image.pixels<uint8_t>();
  for (size_t i = 0; i < image.data.size(); ++i) p[i] = static_cast<uint8_t>((i * 7) % 251);
  return image;
}

void BM_Base64Decode(benchmark::State& state) {
  std::string data(static_cast<size_t>(state.range(0)), 'x');
  const std::string enc = Base64Encode(data.data(), data.size());
  for (auto _ : state) benchmark::DoNotOptimize(Base64Decode(enc));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(enc.size()));
}
BENCHMARK(BM_Base64Decode)->Arg(150'000);

void BM_DecodePng(benchmark::State& state) {
  const auto png =
      EncodePng(Pattern(static_cast<int>(state.range(0)), static_cast<int>(state.range(0))));
  for (auto _ : state) benchmark::DoNotOptimize(DecodeImage(*png));
}
BENCHMARK(BM_DecodePng)->Arg(224)->Arg(1024);

void BM_Preprocess(benchmark::State& state) {
  const Image image = Pattern(static_cast<int>(state.range(0)), static_cast<int>(state.range(0)));
  InputSpec spec;
  for (auto _ : state) benchmark::DoNotOptimize(ImageToTensor(image, spec));
}
BENCHMARK(BM_Preprocess)->Arg(224)->Arg(1000);

// The same image to a uint8 NHWC [1,224,224,3] input (input.dtype: uint8, layout: NHWC):
// no scale/mean/std; at 224 the samples are copied as they are.
void BM_PreprocessUInt8(benchmark::State& state) {
  const Image image = Pattern(static_cast<int>(state.range(0)), static_cast<int>(state.range(0)));
  InputSpec spec;
  spec.dtype = DType::kUInt8;
  spec.layout = Layout::kNHWC;
  for (auto _ : state) benchmark::DoNotOptimize(ImageToTensor(image, spec));
}
BENCHMARK(BM_PreprocessUInt8)->Arg(224)->Arg(1000);

void BM_DecideBatch(benchmark::State& state) {
  std::vector<PendingRequest> queue(static_cast<size_t>(state.range(0)));
  const auto now = BatchClock::now();
  for (auto& r : queue) r.enqueued = now;
  BatchPolicyConfig config;
  config.max_batch_size = 16;
  for (auto _ : state) benchmark::DoNotOptimize(DecideBatch(queue, now, config));
}
BENCHMARK(BM_DecideBatch)->Arg(16)->Arg(256);

// A KServe v2 JSON request with an FP32 [1,3,224,224] tensor (1.6 MB of text).
void BM_OipDecodeJson(benchmark::State& state) {
  std::string body =
      R"({"inputs":[{"name":"input","shape":[1,3,224,224],"datatype":"FP32","data":[)";
  for (int i = 0; i < 3 * 224 * 224; ++i) {
    if (i) body += ',';
    body += std::to_string(static_cast<float>((i * 7919) % 1000) / 997.0f);
  }
  body += "]}]}";
  for (auto _ : state) {
    std::string copy = body;
    benchmark::DoNotOptimize(DecodeInferRequest(copy, std::nullopt));
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(body.size()));
}
BENCHMARK(BM_OipDecodeJson)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace infera

BENCHMARK_MAIN();
