// infera_request_cost: what one `POST /predict` costs the server outside the model, in
// figures that do not depend on how busy the machine is (issue 23 part 2).
//
//   infera_request_cost --config FILE --model M [--requests N] [--warmup N] [--image PNG]
//                       [--threads N] [--raw-only | --served-only]
//
// In one process, as `infera bench` does: the raw engine (one backend, the model's
// preprocessed image, batch 1) runs N forwards, then the real server (127.0.0.1, port 0,
// batching delay 0, preferred batch sizes none, storage in a temporary folder) answers
// N requests from one keep-alive client, one at a time (concurrency 1). For each it
// prints, per forward / per request:
//   - outside us: on-CPU time (/proc/self/task/*/schedstat) of the server's threads but
//     the engine lanes ("infera-lane", the forward) and the client: the request path
//     outside the model, load-independent to a few percent (for raw: what is not the
//     lane, i.e. the caller waiting on it);
//   - lane us: the lanes' time (the forward: this one grows with the machine's load, as
//     caches and the other core's work slow a long computation);
//   - cpu us: the process's user+sys (getrusage) less the client thread's own
//     (CLOCK_THREAD_CPUTIME_ID): what the server spent, on every thread;
//   - heap allocations (this binary counts every operator new; the client thread's are
//     shown apart) and bytes (all threads, the client's included);
//   - minor page faults and voluntary context switches (process-wide: thread hand-offs
//     show here).
// With PERF_CTL_FIFO set (a fifo given to `perf record --control fifo:FIFO -D -1`), the
// served requests alone are profiled too: "enable" and "disable" are written to it
// around them (docs/PERFORMANCE.md has the commands).
// "added" is served minus raw. Both run the model with --threads intra-op threads (one
// instance; default 1): with more, idle OpenMP workers spin at barriers for as long as
// the scheduler lets them, and the CPU figures measure the machine's load instead.
// Instruction counts: under valgrind (--tool=callgrind --instr-atstart=no) only the served
// requests are instrumented (CALLGRIND_START/STOP_INSTRUMENTATION, when valgrind's header
// is installed). Valgrind 3.19 stops at libhwy's RDTSCP (libjxl loads it): preload a
// stub of hwy::platform::TimerResolution, as docs/PERFORMANCE.md shows.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <new>
#include <nlohmann/json.hpp>
#include <string>

#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#else
#define CALLGRIND_START_INSTRUMENTATION
#define CALLGRIND_STOP_INSTRUMENTATION
#endif

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "backends/backend_registry.h"
#include "cli/load_client.h"
#include "common/base64.h"
#include "imaging/codec.h"
#include "models/model.h"
#include "runners/runner_registry.h"
#include "server/server.h"

// ---- Counting allocator (every thread of this binary) ----

namespace {
std::atomic<uint64_t> g_allocations{0};
std::atomic<uint64_t> g_allocated_bytes{0};
thread_local uint64_t t_allocations = 0;  // this thread's

void* Allocate(std::size_t size) {
  ++t_allocations;
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  g_allocated_bytes.fetch_add(size, std::memory_order_relaxed);
  void* p = std::malloc(size == 0 ? 1 : size);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

void* AllocateAligned(std::size_t size, std::align_val_t align) {
  ++t_allocations;
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  g_allocated_bytes.fetch_add(size, std::memory_order_relaxed);
  const auto a = static_cast<std::size_t>(align);
  void* p = std::aligned_alloc(a, (std::max<std::size_t>(size, 1) + a - 1) / a * a);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}
}  // namespace

void* operator new(std::size_t size) { return Allocate(size); }
void* operator new[](std::size_t size) { return Allocate(size); }
void* operator new(std::size_t size, std::align_val_t a) { return AllocateAligned(size, a); }
void* operator new[](std::size_t size, std::align_val_t a) { return AllocateAligned(size, a); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

namespace infera {
namespace {

double CpuSeconds(const timeval& user, const timeval& sys) {
  return static_cast<double>(user.tv_sec + sys.tv_sec) +
         static_cast<double>(user.tv_usec + sys.tv_usec) / 1e6;
}

double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// On-CPU nanoseconds of every thread of the process (/proc/self/task/*/schedstat), by
// kind: the CpuEngine's lanes (named "infera-lane": the model's forwards), the calling
// thread (the client), and the rest (the server outside the model).
struct ThreadTimes {
  uint64_t lane_ns = 0;
  uint64_t caller_ns = 0;
  uint64_t other_ns = 0;

  static ThreadTimes Now() {
    ThreadTimes t;
    const std::string self = std::to_string(gettid());
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator("/proc/self/task", ec)) {
      std::ifstream stat(entry.path() / "schedstat");
      uint64_t ns = 0;
      if (!(stat >> ns)) continue;
      std::ifstream comm_file(entry.path() / "comm");
      std::string comm;
      std::getline(comm_file, comm);
      if (entry.path().filename() == self) {
        t.caller_ns += ns;
      } else if (comm.rfind("infera-lane", 0) == 0) {
        t.lane_ns += ns;
      } else {
        t.other_ns += ns;
      }
    }
    return t;
  }
};

// A snapshot of the counters; differences of two give a run's cost.
struct Counters {
  double process_cpu_s = 0;
  double thread_cpu_s = 0;  // the calling thread's
  uint64_t allocations = 0;
  uint64_t thread_allocations = 0;  // the calling thread's
  uint64_t allocated_bytes = 0;
  int64_t minor_faults = 0;
  int64_t voluntary_switches = 0;
  ThreadTimes threads;

  static Counters Now() {
    Counters c;
    c.threads = ThreadTimes::Now();
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    c.process_cpu_s = CpuSeconds(u.ru_utime, u.ru_stime);
    c.thread_cpu_s = ThreadCpuSeconds();
    c.allocations = g_allocations.load();
    c.thread_allocations = t_allocations;
    c.allocated_bytes = g_allocated_bytes.load();
    c.minor_faults = u.ru_minflt;
    c.voluntary_switches = u.ru_nvcsw;
    return c;
  }
};

struct Cost {
  double lane_us = 0;             // the engine lanes' threads (the forward, and its hand-off)
  double outside_us = 0;          // every other server thread: the request path outside the model
  double cpu_us = 0;              // process less the calling thread (served) or all (raw)
  double client_cpu_us = 0;       // the calling thread (served only)
  double allocations = 0;         // less the calling thread's (served)
  double client_allocations = 0;  // the calling thread's (served only)
  double allocated_kb = 0;
  double minor_faults = 0;
  double voluntary_switches = 0;
};

Cost PerItem(const Counters& a, const Counters& b, int n, bool subtract_caller) {
  const double k = 1.0 / n;
  Cost c;
  const double caller = b.thread_cpu_s - a.thread_cpu_s;
  c.client_cpu_us = subtract_caller ? caller * 1e6 * k : 0;
  c.cpu_us = ((b.process_cpu_s - a.process_cpu_s) - (subtract_caller ? caller : 0)) * 1e6 * k;
  const uint64_t caller_allocations =
      subtract_caller ? b.thread_allocations - a.thread_allocations : 0;
  c.allocations = static_cast<double>(b.allocations - a.allocations - caller_allocations) * k;
  c.lane_us = static_cast<double>(b.threads.lane_ns - a.threads.lane_ns) / 1e3 * k;
  c.outside_us = static_cast<double>(b.threads.other_ns - a.threads.other_ns) / 1e3 * k;
  if (!subtract_caller) {
    c.outside_us += static_cast<double>(b.threads.caller_ns - a.threads.caller_ns) / 1e3 * k;
  }
  c.client_allocations = static_cast<double>(caller_allocations) * k;
  c.allocated_kb = static_cast<double>(b.allocated_bytes - a.allocated_bytes) / 1024.0 * k;
  c.minor_faults = static_cast<double>(b.minor_faults - a.minor_faults) * k;
  c.voluntary_switches = static_cast<double>(b.voluntary_switches - a.voluntary_switches) * k;
  return c;
}

void Print(const char* what, const Cost& c) {
  std::cout << absl::StrFormat(
      "%-22s %10.1f %10.1f %10.1f %10.1f %10.1f %12.1f %10.1f %8.2f %8.2f\n", what, c.outside_us,
      c.lane_us, c.cpu_us, c.client_cpu_us, c.allocations, c.client_allocations, c.allocated_kb,
      c.minor_faults, c.voluntary_switches);
}

// The smooth RGB pattern `infera bench` sends, at the model's input size.
StatusOr<std::vector<std::byte>> PatternPng(const ModelConfig& config) {
  const int h = config.input.size ? config.input.size->first : 224;
  const int w = config.input.size ? config.input.size->second : 224;
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

// Writes `command` to the fifo PERF_CTL_FIFO names (perf record --control), if any.
void PerfControl(const char* command) {
  const char* fifo = std::getenv("PERF_CTL_FIFO");
  if (fifo == nullptr || *fifo == '\0') return;
  std::ofstream out(fifo);
  out << command << "\n";
}

struct Args {
  std::string config;
  std::string model;
  std::string image;
  int requests = 300;
  int warmup = 30;
  int threads = 1;
  bool raw = true;
  bool served = true;
};

StatusOr<Args> ParseArgs(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    auto value = [&]() -> StatusOr<std::string> {
      if (i + 1 >= argc) return absl::InvalidArgumentError(flag + " needs a value");
      return std::string(argv[++i]);
    };
    auto number = [&](int* out) -> Status {
      ASSIGN_OR_RETURN(std::string v, value());
      if (!absl::SimpleAtoi(v, out) || *out < 1) {
        return absl::InvalidArgumentError(flag + ": a positive integer");
      }
      return absl::OkStatus();
    };
    if (flag == "--config") {
      ASSIGN_OR_RETURN(a.config, value());
    } else if (flag == "--model") {
      ASSIGN_OR_RETURN(a.model, value());
    } else if (flag == "--image") {
      ASSIGN_OR_RETURN(a.image, value());
    } else if (flag == "--requests") {
      RETURN_IF_ERROR(number(&a.requests));
    } else if (flag == "--warmup") {
      RETURN_IF_ERROR(number(&a.warmup));
    } else if (flag == "--threads") {
      RETURN_IF_ERROR(number(&a.threads));
    } else if (flag == "--raw-only") {
      a.served = false;
    } else if (flag == "--served-only") {
      a.raw = false;
    } else {
      return absl::InvalidArgumentError("unknown flag " + flag);
    }
  }
  if (a.config.empty() || a.model.empty()) {
    return absl::InvalidArgumentError(
        "usage: infera_request_cost --config FILE --model M [--requests N] [--warmup N] "
        "[--image PNG] [--threads N] [--raw-only | --served-only]");
  }
  return a;
}

Status Run(const Args& args) {
  ASSIGN_OR_RETURN(ServerConfig config, LoadServerConfig(args.config));
  const std::vector<ModelConfig>& models = config.model_sources.models;
  auto it = std::find_if(models.begin(), models.end(),
                         [&](const ModelConfig& m) { return m.name == args.model; });
  if (it == models.end()) return absl::NotFoundError("no model " + args.model);
  ModelConfig model = *it;
  model.instances.count = 1;
  model.instances.threads = args.threads;

  std::vector<std::byte> png;
  if (args.image.empty()) {
    ASSIGN_OR_RETURN(png, PatternPng(model));
  } else {
    std::ifstream in(args.image, std::ios::binary);
    if (!in) return absl::NotFoundError("cannot read " + args.image);
    const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    png.resize(data.size());
    std::memcpy(png.data(), data.data(), data.size());
  }

  std::cout << absl::StrFormat("%s: %d forwards / requests after %d warm-up, image %d bytes\n",
                               model.name, args.requests, args.warmup, png.size());
  std::cout << absl::StrFormat("%-22s %10s %10s %10s %10s %10s %12s %10s %8s %8s\n", "per item",
                               "outside us", "lane us", "cpu us", "client us", "allocs",
                               "client allocs", "alloc KB", "minflt", "vol csw");
  Cost raw_cost;
  double raw_forward_ms = 0;  // median, wall clock
  if (args.raw) {
    ASSIGN_OR_RETURN(Image image, DecodeImage(png));
    const Runner* runner = FindRunner(model.runner);
    ASSIGN_OR_RETURN(nlohmann::json params, runner->ResolveParams(nlohmann::json(), model));
    ASSIGN_OR_RETURN(RunnerInput input, runner->Preprocess(image, model, params));
    BackendOptions options = RawEngineOptions(model, *runner);
    options.intra_op_threads = args.threads;
    ASSIGN_OR_RETURN(std::unique_ptr<Backend> backend, CreateBackend(model.backend, options));
    backend->PrepareThread();
    const Tensor& row = input.items.at(0).at(0);
    for (int i = 0; i < args.warmup; ++i) {
      std::vector<Tensor> inputs{row};
      RETURN_IF_ERROR(backend->Execute(inputs).status());
    }
    std::vector<double> forward_ms;
    const Counters a = Counters::Now();
    for (int i = 0; i < args.requests; ++i) {
      std::vector<Tensor> inputs{row};
      const auto start = std::chrono::steady_clock::now();
      RETURN_IF_ERROR(backend->Execute(inputs).status());
      forward_ms.push_back(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
              .count());
    }
    raw_cost = PerItem(a, Counters::Now(), args.requests, false);
    Print("raw forward (b1)", raw_cost);
    std::sort(forward_ms.begin(), forward_ms.end());
    raw_forward_ms = forward_ms[forward_ms.size() / 2];
  }
  if (!args.served) return absl::OkStatus();

  model.batching.max_queue_delay_ms = 0;
  model.batching.preferred_mode = PreferredBatchSizesMode::kNone;
  model.warmup.batch_sizes.clear();
  ServerConfig served = config;
  served.model_sources.models = {model};
  served.model_sources.repository.reset();
  served.http.host = "127.0.0.1";
  served.http.port = 0;
  served.grpc.enabled = false;
  served.front_end.access_log = false;
  // No job is submitted: the idle job workers' store polls (every 500 ms) would only
  // add their instructions to the requests'.
  served.job_workers.idle_poll = std::chrono::hours(1);
  const std::filesystem::path storage =
      std::filesystem::temp_directory_path() / absl::StrFormat("infera_request_cost_%d", getpid());
  served.storage.driver = "sqlite";
  served.storage.path = storage;
  served.model_sources.batch_timing_cache.clear();
  ASSIGN_OR_RETURN(std::unique_ptr<Server> server, Server::Create(served));
  server->Start();
  const std::string body = nlohmann::json{{"image", Base64Encode(png.data(), png.size())}}.dump();
  const std::string target = "/predict/" + model.name;
  // The bench's load client (cli/load_client: the request built once, as wrk does).
  ASSIGN_OR_RETURN(
      std::unique_ptr<LoadClient> client,
      LoadClient::Open("127.0.0.1", server->port(), "POST", target,
                       {{"content-type", "application/json"}}, body, std::chrono::seconds(60)));
  // The server's own timings of each measured request (wall clock: load-sensitive,
  // printed as medians beside the load-independent counters).
  const std::vector<std::string> timing_keys = {"preprocess_time_ms", "queue_time_ms",
                                                "compute_time_ms", "postprocess_time_ms",
                                                "total_time_ms"};
  std::vector<std::vector<double>> timings(timing_keys.size());
  std::vector<double> round_trips;
  auto send = [&](bool record) -> Status {
    const auto start = std::chrono::steady_clock::now();
    ASSIGN_OR_RETURN(int code, client->RoundTrip());
    if (code != 200)
      return absl::InternalError(absl::StrCat(code, ": ", std::string(client->last_body())));
    if (!record) return absl::OkStatus();
    round_trips.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
            .count());
    const nlohmann::json j = nlohmann::json::parse(client->last_body(), nullptr, false);
    for (size_t k = 0; k < timing_keys.size(); ++k) {
      timings[k].push_back(j.value(timing_keys[k], 0.0));
    }
    return absl::OkStatus();
  };
  for (int i = 0; i < args.warmup; ++i) RETURN_IF_ERROR(send(false));
  PerfControl("enable");
  CALLGRIND_START_INSTRUMENTATION;
  const Counters a = Counters::Now();
  for (int i = 0; i < args.requests; ++i) RETURN_IF_ERROR(send(true));
  const Counters b = Counters::Now();
  CALLGRIND_STOP_INSTRUMENTATION;
  PerfControl("disable");
  const Cost served_cost = PerItem(a, b, args.requests, true);
  Print("served /predict (c1)", served_cost);
  if (args.raw) {
    Cost added;
    added.cpu_us = served_cost.cpu_us - raw_cost.cpu_us;
    added.lane_us = served_cost.lane_us - raw_cost.lane_us;
    added.outside_us = served_cost.outside_us - raw_cost.outside_us;
    added.client_cpu_us = served_cost.client_cpu_us;
    added.allocations = served_cost.allocations - raw_cost.allocations;
    added.client_allocations = served_cost.client_allocations;
    added.allocated_kb = served_cost.allocated_kb - raw_cost.allocated_kb;
    added.minor_faults = served_cost.minor_faults - raw_cost.minor_faults;
    added.voluntary_switches = served_cost.voluntary_switches - raw_cost.voluntary_switches;
    Print("added (served - raw)", added);
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0.0 : v[v.size() / 2];
  };
  std::cout << "served medians (wall clock, ms):";
  for (size_t k = 0; k < timing_keys.size(); ++k) {
    std::cout << absl::StrFormat(" %s %.3f", timing_keys[k], median(timings[k]));
  }
  std::cout << absl::StrFormat(" client_round_trip %.3f", median(round_trips));
  if (args.raw) std::cout << absl::StrFormat(" (raw forward %.3f)", raw_forward_ms);
  std::cout << "\n";
  server->Stop();
  std::error_code ignored;
  std::filesystem::remove_all(storage, ignored);
  return absl::OkStatus();
}

}  // namespace
}  // namespace infera

int main(int argc, char** argv) {
  infera::StatusOr<infera::Args> args = infera::ParseArgs(argc, argv);
  infera::Status s = args.ok() ? infera::Run(*args) : args.status();
  if (!s.ok()) {
    std::cerr << "infera_request_cost: " << s.message() << "\n";
    return 1;
  }
  return 0;
}
