// JobWorkers and JobContext: the lease protocol on a real SQLite store with a
// ManualClock, driven step by step — renewal, expiry and reclaim by another worker
// process, cancel (told, and seen on the record), stop and release, and a kind with no
// handler left alone. No test sleeps: the test handler runs one Check per step the test
// grants, and every wait is for a condition, bounded.
#include "jobs/job_workers.h"

#include <gtest/gtest.h>

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/mutex.h"
#include "store/sqlite_store.h"
#include "support/status_matchers.h"
#include "support/test_env.h"

namespace infera {
namespace {

constexpr int64_t kLeaseMs = 3000;  // renewed every 1000 ms of the manual clock
constexpr auto kWait = std::chrono::seconds(20);

// A handler of kind "step": for each step the test grants (to any run, or to the run of
// one worker) it runs ctx.Check() once and records the signal; it returns when told to (with that
// outcome) or when a Check says anything but kGoOn (then: kCancel -> canceled, kStop -> Release,
// kLost -> completed, which the workers must ignore).
class StepHandler final : public JobHandler {
 public:
  std::string_view kind() const override { return "step"; }

  JobOutcome Run(JobContext& ctx) override {
    MutexLock lock(&mu_);
    ++runs_;
    running_job_ = ctx.job().id;
    workers_seen_.push_back(ctx.worker());
    cv_.SignalAll();
    const std::string& me = ctx.worker();
    while (true) {
      while (steps_[me] == 0 && steps_[""] == 0 && !finish_) cv_.Wait(&mu_);
      if (finish_) {
        finish_ = false;
        running_job_ = 0;
        cv_.SignalAll();
        return JobOutcome::Finish(JobStatus::kCompleted, "done", R"({"steps":1})");
      }
      --steps_[steps_[me] > 0 ? me : ""];
      mu_.Unlock();
      const JobSignal signal = ctx.Check();
      mu_.Lock();
      signals_.push_back(signal);
      cv_.SignalAll();
      if (signal == JobSignal::kGoOn) continue;
      running_job_ = 0;
      cv_.SignalAll();
      if (signal == JobSignal::kCancel) return JobOutcome::Finish(JobStatus::kCanceled, "stop");
      if (signal == JobSignal::kStop) return JobOutcome::Release();
      return JobOutcome::Finish(JobStatus::kCompleted, "lost but says done");
    }
  }

  // Waits until the handler has started its n-th run.
  bool WaitForRun(int n) {
    MutexLock lock(&mu_);
    return WaitLocked([&] { return runs_ >= n; });
  }
  // Grants one Check (to the run of `worker`, or to any) and returns its signal.
  JobSignal Step(const std::string& worker = "") {
    MutexLock lock(&mu_);
    const size_t before = signals_.size();
    ++steps_[worker];
    cv_.SignalAll();
    EXPECT_TRUE(WaitLocked([&] { return signals_.size() > before; }));
    return signals_.size() > before ? signals_.back() : JobSignal::kGoOn;
  }
  void FinishRun() {
    MutexLock lock(&mu_);
    finish_ = true;
    cv_.SignalAll();
    EXPECT_TRUE(WaitLocked([&] { return running_job_ == 0; }));
  }
  // Waits until no run is in the handler.
  bool WaitIdle() {
    MutexLock lock(&mu_);
    return WaitLocked([&] { return running_job_ == 0; });
  }
  std::vector<std::string> workers_seen() {
    MutexLock lock(&mu_);
    return workers_seen_;
  }

 private:
  template <typename Pred>
  bool WaitLocked(Pred pred) REQUIRES(mu_) {
    const auto deadline = std::chrono::steady_clock::now() + kWait;
    while (!pred()) {
      if (cv_.WaitUntil(&mu_, deadline)) return pred();
    }
    return true;
  }

  Mutex mu_;
  CondVar cv_;
  int runs_ GUARDED_BY(mu_) = 0;
  std::map<std::string, int> steps_ GUARDED_BY(mu_);  // by worker; "": any run
  bool finish_ GUARDED_BY(mu_) = false;
  int64_t running_job_ GUARDED_BY(mu_) = 0;
  std::vector<JobSignal> signals_ GUARDED_BY(mu_);
  std::vector<std::string> workers_seen_ GUARDED_BY(mu_);
};

class JobWorkersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SqliteStoreOptions options;
    options.now_ms = clock_.AsFunction();
    ASSERT_OK_AND_ASSIGN(store_, OpenSqliteStore(dir_.path() / "infera.db", options));
    auto handler = std::make_unique<StepHandler>();
    handler_ = handler.get();
    ASSERT_OK(handlers_.Register(std::move(handler)));
  }

  std::unique_ptr<JobWorkers> Workers(const std::string& name) {
    JobWorkerOptions options;
    options.lease_ms = kLeaseMs;
    options.cancel_check_ms = 1000;
    options.idle_poll = std::chrono::milliseconds(5);  // real time: only how often to look
    options.name = name;
    options.clock = &clock_;
    return std::make_unique<JobWorkers>(store_.get(), &handlers_, options);
  }

  int64_t NewJob(const std::string& kind = "step") {
    JobRecord j;
    j.kind = kind;
    auto created = store_->CreateJob(j);
    EXPECT_TRUE(created.ok()) << created.status();
    return created.ok() ? created->id : 0;
  }

  JobRecord Job(int64_t id) {
    auto job = store_->GetJob(id);
    EXPECT_TRUE(job.ok()) << job.status();
    return job.ok() ? *job : JobRecord{};
  }

  // Waits (bounded) until the job's record satisfies `pred`.
  template <typename Pred>
  bool WaitForJob(int64_t id, Pred pred) {
    const auto deadline = std::chrono::steady_clock::now() + kWait;
    while (std::chrono::steady_clock::now() < deadline) {
      if (pred(Job(id))) return true;
      std::this_thread::yield();
    }
    return false;
  }

  testing::TempDir dir_;
  ManualClock clock_;
  std::unique_ptr<Store> store_;
  JobHandlerRegistry handlers_;
  StepHandler* handler_ = nullptr;
};

TEST_F(JobWorkersTest, ClaimsRunsAndFinishesWithTheHandlersOutcome) {
  const int64_t id = NewJob();
  auto workers = Workers("a");
  workers->Start();
  ASSERT_TRUE(handler_->WaitForRun(1));
  EXPECT_EQ(Job(id).status, JobStatus::kRunning);
  EXPECT_EQ(Job(id).lease_owner, workers->WorkerId(0));
  handler_->FinishRun();
  ASSERT_TRUE(WaitForJob(id, [](const JobRecord& j) { return IsTerminal(j.status); }));
  const JobRecord done = Job(id);
  EXPECT_EQ(done.status, JobStatus::kCompleted);
  EXPECT_EQ(done.note, "done");
  EXPECT_EQ(done.report_json, R"({"steps":1})");
  EXPECT_EQ(done.attempts, 1);
  workers->Stop();
}

TEST_F(JobWorkersTest, RenewsTheLeaseEveryThirdOfItOnTheClock) {
  const int64_t id = NewJob();
  auto workers = Workers("a");
  workers->Start();
  ASSERT_TRUE(handler_->WaitForRun(1));
  const int64_t claimed_until = Job(id).lease_expires_at;
  EXPECT_EQ(claimed_until, clock_.NowMs() + kLeaseMs);

  clock_.Advance(kLeaseMs / 3 - 1);  // not yet due
  EXPECT_EQ(handler_->Step(), JobSignal::kGoOn);
  EXPECT_EQ(Job(id).lease_expires_at, claimed_until);

  clock_.Advance(1);  // due: renewed from now
  EXPECT_EQ(handler_->Step(), JobSignal::kGoOn);
  EXPECT_EQ(Job(id).lease_expires_at, clock_.NowMs() + kLeaseMs);

  // Renewed in time, the lease never lapses however long the job runs.
  for (int i = 0; i < 10; ++i) {
    clock_.Advance(kLeaseMs / 3);
    EXPECT_EQ(handler_->Step(), JobSignal::kGoOn);
  }
  EXPECT_EQ(Job(id).lease_expires_at, clock_.NowMs() + kLeaseMs);
  EXPECT_EQ(Job(id).attempts, 1);
  handler_->FinishRun();
  workers->Stop();
}

TEST_F(JobWorkersTest, AnExpiredLeaseIsReclaimedAndTheOldWorkerLosesTheJob) {
  const int64_t id = NewJob();
  auto first = Workers("first");
  first->Start();
  ASSERT_TRUE(handler_->WaitForRun(1));

  // The first worker stalls past its lease (no Check, so no renewal)...
  clock_.Advance(kLeaseMs + 1);
  auto second = Workers("second");
  second->Start();
  // ...and another process's worker takes the job over.
  ASSERT_TRUE(handler_->WaitForRun(2));
  JobRecord taken = Job(id);
  EXPECT_EQ(taken.lease_owner, second->WorkerId(0));
  EXPECT_EQ(taken.attempts, 2);
  EXPECT_EQ(handler_->workers_seen(),
            (std::vector<std::string>{first->WorkerId(0), second->WorkerId(0)}));

  // Both runs are in the handler. The new holder renews; the stale one's renewal is
  // refused, so it learns the job is lost.
  clock_.Advance(kLeaseMs / 3);
  EXPECT_EQ(handler_->Step(second->WorkerId(0)), JobSignal::kGoOn);
  EXPECT_EQ(handler_->Step(first->WorkerId(0)), JobSignal::kLost);
  // The stale worker's "completed" was dropped: the job still runs, held by the second.
  first->Stop();
  taken = Job(id);
  EXPECT_EQ(taken.status, JobStatus::kRunning);
  EXPECT_EQ(taken.lease_owner, second->WorkerId(0));
  handler_->FinishRun();
  ASSERT_TRUE(WaitForJob(id, [](const JobRecord& j) { return IsTerminal(j.status); }));
  EXPECT_EQ(Job(id).status, JobStatus::kCompleted);
  second->Stop();
}

TEST_F(JobWorkersTest, ACancelToldToTheWorkersStopsTheJobAtItsNextCheck) {
  const int64_t id = NewJob();
  auto workers = Workers("a");
  workers->Start();
  ASSERT_TRUE(handler_->WaitForRun(1));
  EXPECT_EQ(handler_->Step(), JobSignal::kGoOn);
  ASSERT_OK_AND_ASSIGN(JobRecord requested, store_->CancelJob(id));
  EXPECT_TRUE(requested.cancel_requested);
  EXPECT_EQ(requested.status, JobStatus::kRunning);
  workers->Cancel(id);  // no clock movement needed
  EXPECT_EQ(handler_->Step(), JobSignal::kCancel);
  ASSERT_TRUE(WaitForJob(id, [](const JobRecord& j) { return IsTerminal(j.status); }));
  EXPECT_EQ(Job(id).status, JobStatus::kCanceled);
  EXPECT_EQ(Job(id).note, "stop");
  workers->Stop();
}

TEST_F(JobWorkersTest, ACancelStoredElsewhereIsSeenWithinTheCheckInterval) {
  // A cancel stored by another node does not notify these workers: the record is read
  // once cancel_check_ms has passed on the clock.
  const int64_t id = NewJob();
  auto workers = Workers("a");
  workers->Start();
  ASSERT_TRUE(handler_->WaitForRun(1));
  EXPECT_EQ(handler_->Step(), JobSignal::kGoOn);  // the first Check reads the record
  ASSERT_OK(store_->CancelJob(id).status());
  clock_.Advance(999);
  EXPECT_EQ(handler_->Step(), JobSignal::kGoOn);
  clock_.Advance(1);
  EXPECT_EQ(handler_->Step(), JobSignal::kCancel);
  ASSERT_TRUE(WaitForJob(id, [](const JobRecord& j) { return IsTerminal(j.status); }));
  EXPECT_EQ(Job(id).status, JobStatus::kCanceled);
  workers->Stop();
}

TEST_F(JobWorkersTest, StoppingReleasesARunningJobToTheQueue) {
  const int64_t id = NewJob();
  auto workers = Workers("a");
  workers->Start();
  ASSERT_TRUE(handler_->WaitForRun(1));
  std::thread stopper([&] { workers->Stop(); });
  // Stop waits for the run; the handler's next Check says kStop.
  JobSignal signal = JobSignal::kGoOn;
  for (int i = 0; i < 1000 && signal == JobSignal::kGoOn; ++i) signal = handler_->Step();
  EXPECT_EQ(signal, JobSignal::kStop);
  stopper.join();
  const JobRecord released = Job(id);
  EXPECT_EQ(released.status, JobStatus::kQueued);
  EXPECT_EQ(released.lease_owner, "");
  EXPECT_EQ(released.attempts, 1);
}

TEST_F(JobWorkersTest, JobsOfAKindWithNoHandlerAreLeftForOthers) {
  const int64_t other = NewJob("retraining");
  const int64_t mine = NewJob("step");
  auto workers = Workers("a");
  workers->Start();
  ASSERT_TRUE(handler_->WaitForRun(1));
  EXPECT_EQ(Job(mine).status, JobStatus::kRunning);
  handler_->FinishRun();
  ASSERT_TRUE(WaitForJob(mine, [](const JobRecord& j) { return IsTerminal(j.status); }));
  workers->Stop();
  EXPECT_EQ(Job(other).status, JobStatus::kQueued);
  EXPECT_EQ(Job(other).attempts, 0);
}

TEST(JobHandlerRegistryTest, OneHandlerPerKind) {
  JobHandlerRegistry registry;
  EXPECT_TRUE(registry.Register(std::make_unique<StepHandler>()).ok());
  EXPECT_EQ(registry.Register(std::make_unique<StepHandler>()).code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_NE(registry.Find("step"), nullptr);
  EXPECT_EQ(registry.Find("inference"), nullptr);
  EXPECT_EQ(registry.Kinds(), std::vector<std::string>{"step"});
}

}  // namespace
}  // namespace infera
