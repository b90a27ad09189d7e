// Job changes across nodes: when several infera processes share one database, a job
// queued, canceled, retried or handed back through one node must wake the idle workers
// (and reach the running job) of every other node at once, not at their next poll.
//
// Every write of the PostgreSQL JobQueue that makes a job claimable or asks a running
// one to stop also sends `NOTIFY infera_jobs` in its transaction (delivered at commit).
// A JobChangeListener holds one connection that LISTENs on that channel and calls
// `on_change` for each batch of notifications — and once after each (re)connection,
// since nothing is delivered while it is away. Workers keep their short poll as the
// fallback (a lease that simply expires on a dead node notifies nobody).
//
// Opened through store_registry.h's ListenForJobChanges; a driver whose nodes share
// nothing (sqlite: one process) has none.
//
// Thread-safety: on_change runs on the listener's own thread; it must be thread-safe
// and quick (JobWorkers::Notify). Destroying the listener stops and joins that thread
// (within about 200 ms) and no on_change runs after it.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "common/status.h"

namespace infera {

// The channel name (an SQL identifier).
inline constexpr const char* kJobChangeChannel = "infera_jobs";

class JobChangeListener {
 public:
  virtual ~JobChangeListener() = default;
};

// Listens on the PostgreSQL database at `url`. The connection is made (and remade after
// a failure, with a back-off up to 5 s, each failure logged once) on the listener's
// thread, so this never fails for an unreachable database: the poll covers meanwhile.
std::unique_ptr<JobChangeListener> ListenForPostgresJobChanges(const std::string& url,
                                                               std::function<void()> on_change);

}  // namespace infera
