// The watchdog feeder against a real datagram socket standing in for
// systemd's NOTIFY_SOCKET: pings while the health check passes, none while
// it fails or does not answer in time (a wedged supervisor), pings again
// once it passes. Waits are bounded receives.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "troupe/app/systemd_notify.hpp"

using namespace std::chrono_literals;
using troupe::app::systemd_notifier;
using troupe::app::watchdog_feeder;

namespace {

// A datagram socket at a fresh path, named by NOTIFY_SOCKET with a
// watchdog of `timeout` for this process while it lives.
class notify_socket {
public:
  explicit notify_socket(std::chrono::microseconds timeout) {
    path_ = "/tmp/troupe-notify-" + std::to_string(::getpid()) + ".sock";
    ::unlink(path_.c_str());
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    path_.copy(a.sun_path, sizeof a.sun_path - 1);
    bound_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    timeval tv{0, 20000}; // reads wait 20 ms at most
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setenv("NOTIFY_SOCKET", path_.c_str(), 1);
    ::setenv("WATCHDOG_USEC", std::to_string(timeout.count()).c_str(), 1);
    ::setenv("WATCHDOG_PID", std::to_string(::getpid()).c_str(), 1);
  }
  ~notify_socket() {
    ::unsetenv("NOTIFY_SOCKET");
    ::unsetenv("WATCHDOG_USEC");
    ::unsetenv("WATCHDOG_PID");
    ::close(fd_);
    ::unlink(path_.c_str());
  }
  bool bound() const { return bound_; }

  // How many WATCHDOG=1 datagrams arrive within `d`.
  int pings_within(std::chrono::milliseconds d) {
    int n = 0;
    auto until = std::chrono::steady_clock::now() + d;
    while (std::chrono::steady_clock::now() < until) {
      char buf[512];
      auto got = ::recv(fd_, buf, sizeof buf - 1, 0);
      if (got > 0 && std::string(buf, static_cast<size_t>(got)) == "WATCHDOG=1")
        ++n;
    }
    return n;
  }

  // Waits up to `d` for the first WATCHDOG=1; whether one came.
  bool ping_within(std::chrono::milliseconds d) {
    auto until = std::chrono::steady_clock::now() + d;
    while (std::chrono::steady_clock::now() < until)
      if (pings_within(20ms) > 0)
        return true;
    return false;
  }

private:
  std::string path_;
  int fd_ = -1;
  bool bound_ = false;
};

} // namespace

TEST(watchdog_feeder, pings_only_while_the_supervisor_is_healthy) {
  // WatchdogSec=200ms: a ping every 100 ms, each health check given 50 ms.
  notify_socket sock{200ms};
  ASSERT_TRUE(sock.bound());
  systemd_notifier notifier;
  ASSERT_TRUE(notifier.active());
  ASSERT_EQ(notifier.watchdog_timeout(), 200ms);
  // 0: healthy; 1: unhealthy (gave up); 2: wedged (answers too late).
  std::atomic<int> mode{0};
  std::atomic<int> checks{0};
  watchdog_feeder feeder{notifier, [&](std::chrono::microseconds limit) {
                           ++checks;
                           if (mode == 2) {
                             // The supervisor does not answer: the check
                             // times out after `limit`.
                             std::this_thread::sleep_for(limit);
                             return false;
                           }
                           return mode == 0;
                         }};
  EXPECT_TRUE(sock.ping_within(5s));
  for (int bad : {1, 2}) {
    mode = bad;
    sock.pings_within(300ms); // a ping decided before the change may come
    auto before = checks.load();
    EXPECT_EQ(sock.pings_within(600ms), 0) << "mode " << bad;
    EXPECT_GT(checks.load(), before) << "the feeder kept asking";
    mode = 0;
    EXPECT_TRUE(sock.ping_within(5s)) << "after mode " << bad;
  }
}
