// UniqueFd: sole owner of a POSIX file descriptor, closed when the owner goes away
// (std::unique_ptr for an int). Move-only; -1 means "holds nothing".
//
// The destructor and reset() ignore close()'s result; a writer that must know whether
// its data reached the file (close can report a deferred write error) calls Close()
// and checks the errno it returns.
//
// Thread-safety: like any value type: one object is not to be used from two threads at
// once without synchronisation; distinct objects are independent.
#pragma once

namespace infera {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { reset(); }

  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  // get: the descriptor, or -1.
  int get() const { return fd_; }
  // valid: whether a descriptor is held.
  bool valid() const { return fd_ >= 0; }

  // release: gives up ownership without closing; returns the descriptor (or -1).
  int release() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }

  // reset: closes the held descriptor (if any; errors ignored) and takes `fd`.
  void reset(int fd = -1);

  // Close: closes the held descriptor now; returns 0, or close()'s errno (left in errno
  // too). Holds nothing afterwards either way (the descriptor is gone even when close
  // reports an error). Returns 0 when nothing was held.
  int Close();

 private:
  int fd_ = -1;
};

}  // namespace infera
