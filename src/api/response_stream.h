// ResponseStream: the body of a response produced while it is being sent — a ZIP built
// on the fly, a long listing — sent with chunked transfer encoding.
//
// A producer thread Writes pieces; the transport takes them and sends them as chunks.
// Backpressure: Write blocks while `capacity` bytes wait unsent, so a slow client slows
// the producer instead of filling memory. When the client goes away the transport
// Cancels the stream and Write returns false: the producer should stop.
// Close() ends a complete body; Abort() ends it on an error midway (the connection is
// closed without the last chunk, so the client sees an incomplete transfer rather than
// a body that looks whole).
//
// Thread-safety: one producer thread and the transport may call concurrently; all
// methods are safe from any thread.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "common/mutex.h"

namespace infera {

class ResponseStream {
 public:
  explicit ResponseStream(size_t capacity = size_t{1} << 20) : capacity_(capacity) {}

  // --- producer ---
  // Queues bytes; blocks while the queue is full. False when the stream was cancelled
  // (client gone) or already ended.
  bool Write(std::string_view bytes);
  void Close();
  void Abort();

  // --- transport ---
  enum class State { kOpen, kClosed, kAborted, kCancelled };
  // Moves the queued bytes into *out and returns the state. With kOpen and nothing
  // queued, the transport waits for the callback given to OnReady.
  State Take(std::string* out);
  // `ready` is called once, from the producer's thread (or at once from this call),
  // when bytes are queued or the stream ended. Replaces an earlier callback.
  void OnReady(std::function<void()> ready);
  // The client is gone: Write returns false from now on.
  void Cancel();

 private:
  // The ready callback, taken (to be called once mu_ is released: it may call back
  // into the stream).
  std::function<void()> TakeReady() REQUIRES(mu_);

  const size_t capacity_;
  Mutex mu_;
  CondVar space_;
  std::string queued_ GUARDED_BY(mu_);
  State state_ GUARDED_BY(mu_) = State::kOpen;
  std::function<void()> ready_ GUARDED_BY(mu_);
};

}  // namespace infera
