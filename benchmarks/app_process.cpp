#include "app_process.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <thread>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

namespace troupe::bench {

namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

std::runtime_error sys_error(const std::string& what) {
  return std::runtime_error(what + ": " + std::strerror(errno));
}

bool is_executable(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec) && ::access(p.c_str(), X_OK) == 0;
}

} // namespace

std::string find_troupe(const std::string& given) {
  if (!given.empty()) {
    if (!is_executable(given))
      throw std::runtime_error("--troupe " + given +
                               ": not an executable file");
    return given;
  }
  std::error_code ec;
  auto self = fs::read_symlink("/proc/self/exe", ec);
  if (ec)
    throw std::runtime_error("cannot read /proc/self/exe: " + ec.message());
  auto dir = self.parent_path();
  std::vector<fs::path> tried{dir / "troupe", dir / ".." / "apps" / "troupe"};
  std::string names;
  for (auto& p : tried) {
    if (is_executable(p))
      return fs::weakly_canonical(p, ec).string();
    names += (names.empty() ? "" : ", ") + p.lexically_normal().string();
  }
  throw std::runtime_error("no troupe executable found (looked at " + names +
                           "); build the 'troupe' target or pass --troupe "
                           "PATH");
}

std::string free_tcp_address() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    throw sys_error("socket");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof(a);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    auto err = sys_error("bind 127.0.0.1:0");
    ::close(fd);
    throw err;
  }
  ::close(fd);
  return "tcp://127.0.0.1:" + std::to_string(ntohs(a.sin_port));
}

namespace {

// A "Name:   1234 kB" line of /proc/PID/status, in bytes.
uint64_t status_kb_field(pid_t pid, const std::string& name) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/status"};
  std::string line;
  auto prefix = name + ":";
  while (std::getline(in, line))
    if (line.rfind(prefix, 0) == 0)
      return std::stoull(line.substr(prefix.size())) * 1024;
  throw std::runtime_error("no " + name + " in /proc/" + std::to_string(pid) +
                           "/status");
}

} // namespace

uint64_t peak_rss_bytes(pid_t pid) {
  return status_kb_field(pid, "VmHWM");
}

uint64_t rss_bytes(pid_t pid) {
  return status_kb_field(pid, "VmRSS");
}

app_process::app_process(const std::string& exe,
                         const std::vector<std::string>& args,
                         std::string log_path)
  : log_path_(std::move(log_path)) {
  // Everything the child needs is built before fork: between fork and exec
  // only async-signal-safe calls are allowed (the parent has threads).
  std::vector<std::string> all{exe};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  argv.reserve(all.size() + 1);
  for (auto& a : all)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  int log =
    ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (log < 0)
    throw sys_error("open " + log_path_);
  int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  auto parent = ::getpid();
  auto pid = ::fork();
  if (pid < 0) {
    auto err = sys_error("fork");
    ::close(log);
    ::close(null);
    throw err;
  }
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent)
      ::_exit(127);
    // dup2 drops CLOEXEC on the copies.
    if (::dup2(null, 0) < 0 || ::dup2(log, 1) < 0 || ::dup2(log, 2) < 0)
      ::_exit(127);
    ::close_range(3, ~0U, 0);
    ::execv(argv[0], argv.data());
    static const char msg[] =
      "troupe-bench: exec of the troupe binary failed\n";
    (void)!::write(2, msg, sizeof(msg) - 1);
    ::_exit(127);
  }
  ::close(log);
  ::close(null);
  pid_ = pid;
}

app_process::~app_process() {
  stop(std::chrono::seconds{5});
}

bool app_process::alive() {
  if (pid_ <= 0)
    return false;
  int status = 0;
  auto r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_ || (r < 0 && errno == ECHILD)) {
    pid_ = -1;
    status_ = status;
    return false;
  }
  return true;
}

std::string app_process::await_log(const std::string& needle,
                                   milliseconds timeout) {
  auto deadline = steady_clock::now() + timeout;
  for (;;) {
    {
      std::ifstream in{log_path_};
      std::string line;
      while (std::getline(in, line))
        if (line.find(needle) != std::string::npos)
          return line;
    }
    if (!alive())
      throw std::runtime_error("troupe exited before logging '" + needle +
                               "'; its output ends:\n" + log_tail());
    if (steady_clock::now() > deadline)
      throw std::runtime_error("troupe did not log '" + needle + "' within " +
                               std::to_string(timeout.count()) +
                               " ms; its output ends:\n" + log_tail());
    std::this_thread::sleep_for(milliseconds{20});
  }
}

std::optional<int> app_process::stop(milliseconds grace) {
  if (!alive())
    return status_;
  ::kill(pid_, SIGTERM);
  auto deadline = steady_clock::now() + grace;
  while (steady_clock::now() < deadline) {
    if (!alive())
      return status_;
    std::this_thread::sleep_for(milliseconds{5});
  }
  ::kill(pid_, SIGKILL);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
  status_.reset();
  return std::nullopt;
}

std::string app_process::log_tail(int lines) const {
  std::ifstream in{log_path_};
  std::deque<std::string> tail;
  std::string line;
  while (std::getline(in, line)) {
    tail.push_back(line);
    if (static_cast<int>(tail.size()) > lines)
      tail.pop_front();
  }
  std::string out;
  for (auto& l : tail)
    out += "  | " + l + "\n";
  return out;
}

} // namespace troupe::bench
