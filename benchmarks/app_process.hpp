#pragma once

// A `troupe run APP ...` child for the scenarios that measure the real
// binary (echo_forward.cpp), and what they need around it: where the binary
// is, a free port, a process's peak RSS. No CAF and no ZMQ in here.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace troupe::bench {

/// Returns the troupe executable: `given` when not empty, else `troupe`
/// beside this executable (installed: the same bin directory) or
/// `../apps/troupe` from it (the build tree). Throws `std::runtime_error`
/// naming the places it looked when there is none.
std::string find_troupe(const std::string& given);

/// Returns "tcp://127.0.0.1:PORT" with a port that was free a moment ago
/// (bound to port 0, read back, closed).
std::string free_tcp_address();

/// Returns the peak resident set size (VmHWM) of process `pid` in bytes.
/// Throws when /proc/PID/status cannot be read.
uint64_t peak_rss_bytes(pid_t pid);

/// Returns the resident set size now (VmRSS) of process `pid` in bytes.
/// Throws when /proc/PID/status cannot be read.
uint64_t rss_bytes(pid_t pid);

/// A running `troupe ARGS...` whose stdout and stderr go to `log_path`. The
/// destructor always ends it: SIGTERM, then SIGKILL after a grace period.
/// It also dies with the parent (PR_SET_PDEATHSIG).
class app_process {
public:
  /// Starts `exe args...`. Throws on failure to fork.
  app_process(const std::string& exe, const std::vector<std::string>& args,
              std::string log_path);

  app_process(const app_process&) = delete;
  app_process& operator=(const app_process&) = delete;

  ~app_process();

  pid_t pid() const { return pid_; }

  /// Whether the child still runs (reaps it when it exited).
  bool alive();

  /// Waits until a line of the log contains `needle` and returns that line.
  /// Throws, quoting the log's tail, when the child exits first or `timeout`
  /// passes.
  std::string await_log(const std::string& needle,
                        std::chrono::milliseconds timeout);

  /// Sends SIGTERM and waits up to `grace` for the exit, then SIGKILLs.
  /// Returns the wait status, or nothing when it had to be killed.
  std::optional<int> stop(std::chrono::milliseconds grace);

  /// The last `lines` lines of the log, for error messages.
  std::string log_tail(int lines = 20) const;

private:
  pid_t pid_ = -1;
  std::optional<int> status_;
  std::string log_path_;
};

} // namespace troupe::bench
