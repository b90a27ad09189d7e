// The PostgreSQL JobChangeListener (job_changes.h): one thread, one connection that
// LISTENs, woken by the server's notifications or every 200 ms to see whether to stop.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <utility>

#include "common/logging.h"
#include "common/strings.h"
#include "store/job_changes.h"
#include "store/postgres_db.h"

namespace infera {
namespace {

using std::chrono::milliseconds;

class PgJobChangeListener final : public JobChangeListener {
 public:
  PgJobChangeListener(std::string url, std::function<void()> on_change)
      : url_(std::move(url)), on_change_(std::move(on_change)) {
    thread_ = std::thread([this] { Run(); });
  }
  ~PgJobChangeListener() override {
    stop_.store(true, std::memory_order_release);
    thread_.join();
  }

 private:
  bool stopping() const { return stop_.load(std::memory_order_acquire); }

  // Sleeps `d` in short steps, returning early when stopping.
  void Nap(milliseconds d) {
    const auto end = std::chrono::steady_clock::now() + d;
    while (!stopping() && std::chrono::steady_clock::now() < end) {
      std::this_thread::sleep_for(milliseconds(50));
    }
  }

  void Run() {
    milliseconds backoff(100);
    bool logged = false;
    while (!stopping()) {
      StatusOr<std::unique_ptr<PgConnection>> conn = PgConnection::Connect(url_);
      Status listening = conn.ok() ? (*conn)->Exec("LISTEN infera_jobs").status() : conn.status();
      if (!listening.ok()) {
        if (!logged) {
          Log(LogLevel::kWarning, "job_listen_failed",
              {{"error", std::string(ToStd(listening.message()))}});
          logged = true;
        }
        Nap(backoff);
        backoff = std::min(backoff * 2, milliseconds(5000));
        continue;
      }
      if (logged) Log(LogLevel::kInfo, "job_listen_resumed");
      logged = false;
      backoff = milliseconds(100);
      on_change_();  // whatever was queued while nobody listened
      while (!stopping()) {
        StatusOr<std::vector<std::string>> got = (*conn)->WaitForNotifications(milliseconds(200));
        if (!got.ok()) {
          Log(LogLevel::kWarning, "job_listen_failed",
              {{"error", std::string(ToStd(got.status().message()))}});
          logged = true;
          break;
        }
        if (!got->empty()) on_change_();
      }
    }
  }

  const std::string url_;
  const std::function<void()> on_change_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace

std::unique_ptr<JobChangeListener> ListenForPostgresJobChanges(const std::string& url,
                                                               std::function<void()> on_change) {
  return std::make_unique<PgJobChangeListener>(url, std::move(on_change));
}

}  // namespace infera
