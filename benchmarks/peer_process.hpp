#pragma once

// A second troupe-bench process for the two-process scenarios, and the line
// channel between the two. No CAF and no ZMQ in here.
//
// The child is this very binary (/proc/self/exe), started as
// `troupe-bench --peer ROLE ARGS...`. Parent and child talk over one Unix
// socket pair, one text line per message; in the child it is file
// descriptor 3 (see `peer_channel_fd`). The child dies with its parent
// (PR_SET_PDEATHSIG) and sees end-of-file on the channel when the parent
// closes it, so no child outlives a measurement.

#include <chrono>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace troupe::bench {

/// The child's end of the channel.
constexpr int peer_channel_fd = 3;

/// Lines over a stream socket. Writes never raise SIGPIPE.
class line_channel {
public:
  line_channel() = default;
  explicit line_channel(int fd) : fd_(fd) {}

  line_channel(const line_channel&) = delete;
  line_channel& operator=(const line_channel&) = delete;

  ~line_channel();

  int fd() const { return fd_; }

  /// Takes ownership of `fd` (closing the previous one).
  void adopt(int fd);

  /// Writes `line` and a newline. Throws `std::runtime_error` when the other
  /// side is gone.
  void send(const std::string& line);

  /// Returns the next line (without the newline), or nothing when none
  /// arrived within `timeout` (zero: only what is already there). Throws
  /// `std::runtime_error` on end-of-file (the other side closed or died).
  std::optional<std::string> receive(std::chrono::milliseconds timeout);

  /// Like `receive`, but a timeout throws, naming `what`.
  std::string expect(const std::string& what,
                     std::chrono::milliseconds timeout);

  /// Closes the descriptor (the other side reads end-of-file).
  void close();

private:
  int fd_ = -1;
  std::string buf_;
};

/// A running `troupe-bench --peer ...` child. The destructor always ends
/// and reaps it: it closes the channel, gives the child a few seconds to
/// exit, then kills it.
class peer_process {
public:
  /// Starts `/proc/self/exe --peer args...`. Throws on failure.
  explicit peer_process(const std::vector<std::string>& args);

  peer_process(const peer_process&) = delete;
  peer_process& operator=(const peer_process&) = delete;

  ~peer_process();

  line_channel& channel() { return channel_; }

  /// The child's process id (-1 once it was reaped).
  pid_t pid() const { return pid_; }

  /// Sends `quit`, closes the channel and waits up to `timeout` for the
  /// child to exit. Throws when it exits with a failure status or does not
  /// exit in time (then it is killed).
  void finish(std::chrono::milliseconds timeout = std::chrono::seconds{10});

private:
  // Waits up to `timeout` for the child; returns its wait status or nothing.
  std::optional<int> wait_for(std::chrono::milliseconds timeout);
  void kill_and_reap();

  pid_t pid_ = -1;
  line_channel channel_;
  std::string role_;
};

/// A fresh directory under $TMPDIR (or /tmp) for ipc:// endpoints, removed
/// with everything in it when the object goes.
class temp_dir {
public:
  temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  ~temp_dir();

  const std::string& path() const { return path_; }

private:
  std::string path_;
};

} // namespace troupe::bench
