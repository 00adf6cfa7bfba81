#include "peer_process.hpp"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <system_error>
#include <thread>

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

namespace troupe::bench {

namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

std::runtime_error sys_error(const std::string& what) {
  return std::runtime_error(what + ": " + std::strerror(errno));
}

} // namespace

// -- line_channel ------------------------------------------------------------

line_channel::~line_channel() {
  close();
}

void line_channel::adopt(int fd) {
  close();
  fd_ = fd;
  buf_.clear();
}

void line_channel::close() {
  if (fd_ >= 0)
    ::close(fd_);
  fd_ = -1;
}

void line_channel::send(const std::string& line) {
  if (fd_ < 0)
    throw std::runtime_error("channel to the peer is closed");
  auto out = line + '\n';
  size_t done = 0;
  while (done < out.size()) {
    auto n = ::send(fd_, out.data() + done, out.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      throw sys_error("cannot write to the peer (did it exit?)");
    done += static_cast<size_t>(n);
  }
}

std::optional<std::string> line_channel::receive(milliseconds timeout) {
  auto deadline = steady_clock::now() + timeout;
  for (;;) {
    if (auto nl = buf_.find('\n'); nl != std::string::npos) {
      auto line = buf_.substr(0, nl);
      buf_.erase(0, nl + 1);
      return line;
    }
    if (fd_ < 0)
      throw std::runtime_error("channel to the peer is closed");
    auto left =
      std::chrono::duration_cast<milliseconds>(deadline - steady_clock::now());
    pollfd p{fd_, POLLIN, 0};
    auto r = ::poll(&p, 1,
                    static_cast<int>(std::max<int64_t>(
                      0, static_cast<int64_t>(left.count()))));
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0)
      throw sys_error("poll on the peer channel");
    if (r == 0)
      return std::nullopt;
    char tmp[4096];
    auto n = ::read(fd_, tmp, sizeof(tmp));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      throw sys_error("read from the peer channel");
    if (n == 0)
      throw std::runtime_error("the peer closed its channel (it exited or "
                               "crashed; its own message, if any, is above)");
    buf_.append(tmp, static_cast<size_t>(n));
  }
}

std::string line_channel::expect(const std::string& what,
                                 milliseconds timeout) {
  if (auto line = receive(timeout))
    return *line;
  throw std::runtime_error("no " + what + " from the peer within " +
                           std::to_string(timeout.count()) + " ms");
}

// -- peer_process ------------------------------------------------------------

peer_process::peer_process(const std::vector<std::string>& args)
  : role_(args.empty() ? std::string{"peer"} : args.front()) {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
    throw sys_error("socketpair");
  // Everything the child needs is built before fork: between fork and exec
  // only async-signal-safe calls are allowed (the parent has threads).
  std::vector<std::string> all{"troupe-bench", "--peer"};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  argv.reserve(all.size() + 1);
  for (auto& a : all)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  auto parent = ::getpid();
  auto pid = ::fork();
  if (pid < 0) {
    auto err = sys_error("fork");
    ::close(sv[0]);
    ::close(sv[1]);
    throw err;
  }
  if (pid == 0) {
    // Die with the parent, even when it is killed.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent)
      ::_exit(127);
    if (sv[1] == peer_channel_fd) {
      ::fcntl(sv[1], F_SETFD, 0);
    } else if (::dup2(sv[1], peer_channel_fd) < 0) { // dup2 drops CLOEXEC
      ::_exit(127);
    }
    ::close_range(peer_channel_fd + 1, ~0U, 0);
    ::execv("/proc/self/exe", argv.data());
    ::_exit(127);
  }
  ::close(sv[1]);
  pid_ = pid;
  channel_.adopt(sv[0]);
}

peer_process::~peer_process() {
  if (pid_ <= 0)
    return;
  channel_.close(); // the child reads end-of-file and exits
  if (!wait_for(std::chrono::seconds{3}))
    kill_and_reap();
}

std::optional<int> peer_process::wait_for(milliseconds timeout) {
  auto deadline = steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    auto r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_ || (r < 0 && errno == ECHILD)) {
      pid_ = -1;
      return status;
    }
    if (steady_clock::now() >= deadline)
      return std::nullopt;
    std::this_thread::sleep_for(milliseconds{2});
  }
}

void peer_process::kill_and_reap() {
  if (pid_ <= 0)
    return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
}

void peer_process::finish(milliseconds timeout) {
  if (pid_ <= 0)
    return;
  try {
    channel_.send("quit");
  } catch (const std::exception&) {
    // Already gone: the exit status below says how.
  }
  channel_.close();
  auto status = wait_for(timeout);
  if (!status) {
    kill_and_reap();
    throw std::runtime_error("peer '" + role_ + "' did not exit within " +
                             std::to_string(timeout.count()) +
                             " ms after quit; killed");
  }
  if (WIFEXITED(*status) && WEXITSTATUS(*status) == 0)
    return;
  if (WIFSIGNALED(*status))
    throw std::runtime_error("peer '" + role_ + "' was killed by signal " +
                             std::to_string(WTERMSIG(*status)));
  throw std::runtime_error("peer '" + role_ + "' exited with status " +
                           std::to_string(WEXITSTATUS(*status)));
}

// -- temp_dir ----------------------------------------------------------------

temp_dir::temp_dir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl =
    std::string{base != nullptr && *base != '\0' ? base : "/tmp"} +
    "/troupe-bench-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr)
    throw sys_error("mkdtemp " + tmpl);
  path_ = tmpl;
}

temp_dir::~temp_dir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

} // namespace troupe::bench
