#include "troupe/app/signal_watcher.hpp"

#include <csignal>
#include <cstdio>
#include <pthread.h>
#include <unistd.h>

namespace troupe::app {

namespace {

sigset_t watched_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGUSR1); // reload, as Pythia workers expect
  // Private wake-up signal used by the destructor.
  sigaddset(&set, SIGUSR2);
  return set;
}

} // namespace

signal_watcher::signal_watcher() {
  auto set = watched_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  thread_ = std::thread([this] { run(); });
}

signal_watcher::~signal_watcher() {
  shutting_down_ = true;
  pthread_kill(thread_.native_handle(), SIGUSR2);
  thread_.join();
}

bool signal_watcher::wait_for_stop(std::chrono::nanoseconds timeout) {
  std::unique_lock<std::mutex> guard{mtx_};
  cv_.wait_for(guard, timeout, [this] {
    return stop_requested() || reload_.load() || woken_.load();
  });
  woken_ = false;
  return stop_requested();
}

void signal_watcher::wake() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    woken_ = true;
  }
  cv_.notify_all();
}

void signal_watcher::run() {
  auto set = watched_signals();
  for (;;) {
    int sig = 0;
    if (sigwait(&set, &sig) != 0)
      continue;
    if (shutting_down_)
      return;
    if (sig == SIGHUP || sig == SIGUSR1) {
      {
        std::lock_guard<std::mutex> guard{mtx_};
        reload_ = true;
      }
      cv_.notify_all();
      continue;
    }
    if (sig != SIGINT && sig != SIGTERM)
      continue;
    if (stop_requested()) {
      // Second stop signal: the user wants out now.
      static const char msg[] = "\nsecond signal: exiting immediately\n";
      auto ignored = ::write(STDERR_FILENO, msg, sizeof(msg) - 1);
      (void)ignored;
      std::_Exit(128 + sig);
    }
    {
      std::lock_guard<std::mutex> guard{mtx_};
      stop_signal_ = sig;
    }
    cv_.notify_all();
  }
}

} // namespace troupe::app
