// Cluster figures of the PostgreSQL store (docs/PERFORMANCE.md, "Several nodes on
// PostgreSQL"), on a PostgreSQL server this binary starts itself (the tests' helper:
// initdb + pg_ctl into a temp folder, as the `postgres` user when root):
//
//   1. job claims per second: empty jobs claimed and finished (ClaimJob + FinishJob, the
//      two store calls a worker makes per job) by 1, 2 and 3 nodes — each node a Store
//      with its own connection pool, as a process has — with 2 worker threads each;
//   2. blob upload and download MB/s: PostgreSQL (1 MiB chunk rows) vs the filesystem
//      blob store (what `blobs: {path}` uses), 8 MiB blobs streamed in and out.
//
//   build/bench/infera_cluster_bench [--jobs 2000] [--blob-mb 256]
#include <absl/strings/str_format.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "store/blob_store.h"
#include "store/postgres_store.h"
#include "support/postgres_server.h"

namespace infera {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

void Check(const Status& s, const char* what) {
  if (!s.ok()) {
    std::cerr << what << ": " << s << "\n";
    std::exit(1);
  }
}

// Claims/s with `nodes` nodes of `threads` workers each on a fresh database of `jobs`
// empty jobs.
double ClaimsPerSecond(int nodes, int threads, int jobs) {
  StatusOr<std::string> url = testing::FreshPostgresDatabase();
  Check(url.status(), "database");
  std::vector<std::unique_ptr<Store>> stores;
  for (int n = 0; n < nodes; ++n) {
    PostgresStoreOptions options;
    options.url = *url;
    StatusOr<std::unique_ptr<Store>> store = OpenPostgresStore(options);
    Check(store.status(), "open");
    stores.push_back(std::move(*store));
  }
  for (int i = 0; i < jobs; ++i) {
    JobRecord j;
    j.kind = "empty";
    Check(stores[0]->CreateJob(j).status(), "create job");
  }
  std::atomic<int> claimed{0};
  std::vector<std::thread> workers;
  const Clock::time_point start = Clock::now();
  for (int n = 0; n < nodes; ++n) {
    for (int t = 0; t < threads; ++t) {
      workers.emplace_back([&, store = stores[n].get(), worker = absl::StrFormat("n%d.%d", n, t)] {
        for (int round = 0; round <= jobs; ++round) {
          StatusOr<std::optional<JobRecord>> job = store->ClaimJob(worker, 60'000, {"empty"});
          Check(job.status(), "claim");
          if (!job->has_value()) return;
          Check(store->FinishJob((*job)->id, worker, JobStatus::kCompleted, "", "{}"), "finish");
          ++claimed;
        }
      });
    }
  }
  for (std::thread& t : workers) t.join();
  const double s = Seconds(Clock::now() - start);
  if (claimed.load() != jobs) {
    std::cerr << "claimed " << claimed.load() << " of " << jobs << "\n";
    std::exit(1);
  }
  return jobs / s;
}

struct BlobRates {
  double put_mb_s = 0;
  double read_mb_s = 0;
};

// Streams `total_mb` in 8 MiB blobs into `blobs` from a file (PutFile: read a chunk at a
// time), then reads each back with Read (a chunk at a time into a sink).
BlobRates MeasureBlobs(BlobStore& blobs, const fs::path& scratch, int total_mb) {
  constexpr int kBlobMb = 8;
  const int count = std::max(1, total_mb / kBlobMb);
  std::vector<fs::path> files;
  for (int i = 0; i < count; ++i) {
    std::string bytes(static_cast<size_t>(kBlobMb) << 20, '\0');
    for (size_t k = 0; k < bytes.size(); k += 4096) bytes[k] = static_cast<char>(i + k / 4096);
    const fs::path f = scratch / absl::StrFormat("blob_%d", i);
    FILE* out = std::fopen(f.c_str(), "wb");
    std::fwrite(bytes.data(), 1, bytes.size(), out);
    std::fclose(out);
    files.push_back(f);
  }
  std::vector<std::string> shas;
  Clock::time_point start = Clock::now();
  for (const fs::path& f : files) {
    StatusOr<BlobInfo> info = blobs.PutFile(f);
    Check(info.status(), "put");
    shas.push_back(info->sha256);
  }
  BlobRates r;
  r.put_mb_s = count * kBlobMb / Seconds(Clock::now() - start);
  start = Clock::now();
  int64_t read = 0;
  for (const std::string& sha : shas) {
    Check(blobs.Read(sha,
                     [&](std::string_view chunk) {
                       read += static_cast<int64_t>(chunk.size());
                       return absl::OkStatus();
                     }),
          "read");
  }
  r.read_mb_s = static_cast<double>(read) / (1 << 20) / Seconds(Clock::now() - start);
  for (const fs::path& f : files) fs::remove(f);
  return r;
}

int Main(int argc, char** argv) {
  int jobs = 2000;
  int blob_mb = 256;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--jobs") jobs = std::atoi(argv[i + 1]);
    if (flag == "--blob-mb") blob_mb = std::atoi(argv[i + 1]);
  }
  std::cout << absl::StrFormat(
      "job claims/s (claim + finish of empty jobs, %d jobs, 2 workers per node)\n", jobs);
  for (int nodes = 1; nodes <= 3; ++nodes) {
    std::cout << absl::StrFormat("  %d node%s: %8.0f claims/s\n", nodes, nodes > 1 ? "s" : " ",
                                 ClaimsPerSecond(nodes, 2, jobs));
  }
  const fs::path scratch =
      fs::temp_directory_path() / absl::StrFormat("infera-cluster-bench-%d", ::getpid());
  fs::create_directories(scratch / "in");
  StatusOr<std::string> url = testing::FreshPostgresDatabase();
  Check(url.status(), "database");
  PostgresStoreOptions options;
  options.url = *url;
  StatusOr<std::unique_ptr<BlobStore>> pg = OpenPostgresBlobStore(options);
  Check(pg.status(), "pg blobs");
  StatusOr<std::unique_ptr<BlobStore>> fs_blobs = OpenFsBlobStore(scratch / "blobs");
  Check(fs_blobs.status(), "fs blobs");
  std::cout << absl::StrFormat("blobs (%d MiB in 8 MiB blobs)      upload MB/s  download MB/s\n",
                               blob_mb);
  const BlobRates p = MeasureBlobs(**pg, scratch / "in", blob_mb);
  std::cout << absl::StrFormat("  PostgreSQL (1 MiB chunk rows)  %10.0f  %13.0f\n", p.put_mb_s,
                               p.read_mb_s);
  const BlobRates f = MeasureBlobs(**fs_blobs, scratch / "in", blob_mb);
  std::cout << absl::StrFormat("  filesystem (blobs: {path})     %10.0f  %13.0f\n", f.put_mb_s,
                               f.read_mb_s);
  std::error_code ec;
  fs::remove_all(scratch, ec);
  return 0;
}

}  // namespace
}  // namespace infera

int main(int argc, char** argv) { return infera::Main(argc, argv); }
