#include "troupe/app/control_plane.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <limits>
#include <mutex>
#include <thread>

#include <arpa/inet.h>
#include <csignal>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

// Debian's libcpp-httplib is built with CPPHTTPLIB_OPENSSL_SUPPORT (its
// cpp-httplib.pc says so and Findhttplib.cmake passes it on): httplib.h
// brings in OpenSSL's headers, which the TLS layer below uses directly.
#include <httplib.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <spdlog/logger.h>

#include "troupe/actors/logging.hpp"
#include "troupe/app/dashboard.hpp"
#include "troupe/app/log_ring.hpp"
#include "troupe/config/enum_names.hpp"

namespace troupe::app {

namespace {

using nlohmann::json;

using steady = std::chrono::steady_clock;

// Connections served at once, each by its own thread (started on demand,
// kept for reuse). A model call may wait for a service to stop, and a slow
// client holds its thread until its deadline below: enough threads that a
// handful of slow or stuck clients leave room for everyone else.
constexpr size_t max_workers = 64;

// Deadlines a slow sender cannot extend (the library's own read timeout
// restarts with every byte). A request's line and headers must arrive
// within head_timeout of the connection's accept (first request) or of the
// request's first byte (later requests on a kept-alive connection); its body
// within body_timeout of the end of the headers; the response must be sent
// within write_timeout of its first byte. A connection that waited in the
// queue past its head deadline is closed unanswered.
constexpr auto head_timeout = std::chrono::seconds{5};
constexpr auto body_timeout = std::chrono::seconds{10};
constexpr auto write_timeout = std::chrono::seconds{10};
// How long a kept-alive connection may sit idle between requests, and how
// many requests it may carry.
constexpr auto idle_timeout = std::chrono::seconds{1};
constexpr size_t max_requests_per_connection = 100;
// Waits poll in slices this long, so that stop() interrupts them.
constexpr auto poll_slice = std::chrono::milliseconds{100};

// Bodies of POST /services are small specs.
constexpr size_t max_body_bytes = size_t{1024} * 1024;

// When the connection the current worker thread serves was accepted (set by
// connection_pool before each job).
thread_local steady::time_point accepted_at; // NOLINT(*-global-variables)

// Waits until `sock` is ready for `events`, `until` passes or `stopping` is
// set; true when ready (or closed or in error: the next recv/send says).
bool wait_socket(int sock, short events, steady::time_point until,
                 const std::atomic<bool>& stopping) {
  for (;;) {
    if (stopping)
      return false;
    auto now = steady::now();
    if (now >= until)
      return false;
    auto slice = std::min<steady::duration>(until - now, poll_slice);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(slice);
    pollfd pfd{sock, events, 0};
    int n = ::poll(&pfd, 1, static_cast<int>(std::max<int64_t>(ms.count(), 1)));
    if (n > 0)
      return true;
    if (n < 0 && errno != EINTR)
      return false;
  }
}

void endpoint_of(int sock, bool peer, std::string& ip, int& port) {
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  auto* sa = reinterpret_cast<sockaddr*>(&addr); // NOLINT(*-reinterpret-cast)
  int rc = peer ? ::getpeername(sock, sa, &len) : ::getsockname(sock, sa, &len);
  if (rc != 0)
    return;
  std::array<char, NI_MAXHOST> host{};
  std::array<char, NI_MAXSERV> serv{};
  if (::getnameinfo(sa, len, host.data(), host.size(), serv.data(), serv.size(),
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0)
    return;
  ip = host.data();
  port = std::atoi(serv.data());
}

// A socket stream whose reads and writes stop at fixed deadlines (see
// head_timeout): bytes that trickle in do not move them.
class deadline_stream final : public httplib::Stream {
public:
  // `ssl`: the connection's TLS session (handshake done, non-blocking
  // socket), or null for plain HTTP.
  deadline_stream(int sock, SSL* ssl, const std::atomic<bool>& stopping)
    : sock_(sock), ssl_(ssl), stopping_(stopping) {}

  // Waits for the first byte of the next request until `idle_until`; the
  // request's head must then be complete by `head_until`.
  bool next_request(steady::time_point idle_until,
                    std::optional<steady::time_point> head_until) {
    if (off_ == len_ && !tls_pending() &&
        !wait_socket(sock_, POLLIN, idle_until, stopping_))
      return false;
    read_until_ = head_until.value_or(steady::now() + head_timeout);
    write_until_.reset();
    in_head_ = true;
    line_len_ = 0;
    return true;
  }

  bool is_readable() const override {
    return off_ < len_ || tls_pending() ||
           wait_socket(sock_, POLLIN, read_until_, stopping_);
  }

  bool is_writable() const override {
    return wait_socket(sock_, POLLOUT, write_deadline(), stopping_);
  }

  ssize_t read(char* ptr, size_t size) override {
    if (off_ == len_) {
      auto n = ssl_ != nullptr ? tls_read() : plain_read();
      if (n <= 0)
        return n;
      off_ = 0;
      len_ = static_cast<size_t>(n);
    }
    auto n = std::min(size, len_ - off_);
    std::memcpy(ptr, buf_.data() + off_, n);
    off_ += n;
    scan(ptr, n);
    return static_cast<ssize_t>(n);
  }

  ssize_t write(const char* ptr, size_t size) override {
    if (ssl_ != nullptr)
      return tls_write(ptr, size);
    if (!wait_socket(sock_, POLLOUT, write_deadline(), stopping_))
      return -1;
    return ::send(sock_, ptr, size, MSG_NOSIGNAL);
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    endpoint_of(sock_, true, ip, port);
  }

  void get_local_ip_and_port(std::string& ip, int& port) const override {
    endpoint_of(sock_, false, ip, port);
  }

  socket_t socket() const override { return sock_; }

private:
  bool tls_pending() const { return ssl_ != nullptr && SSL_pending(ssl_) > 0; }

  ssize_t plain_read() {
    if (!wait_socket(sock_, POLLIN, read_until_, stopping_))
      return -1;
    return ::recv(sock_, buf_.data(), buf_.size(), 0);
  }

  // TLS records may need writes to read and reads to write (renegotiation,
  // key updates): wait for whichever OpenSSL asks, within the same deadline.
  bool tls_wait(int rc, steady::time_point until) {
    switch (SSL_get_error(ssl_, rc)) {
    case SSL_ERROR_WANT_READ:
      return wait_socket(sock_, POLLIN, until, stopping_);
    case SSL_ERROR_WANT_WRITE:
      return wait_socket(sock_, POLLOUT, until, stopping_);
    default:
      return false;
    }
  }

  ssize_t tls_read() {
    for (;;) {
      ERR_clear_error();
      int n = SSL_read(ssl_, buf_.data(), static_cast<int>(buf_.size()));
      if (n > 0)
        return n;
      if (SSL_get_error(ssl_, n) == SSL_ERROR_ZERO_RETURN)
        return 0;
      if (!tls_wait(n, read_until_))
        return -1;
    }
  }

  ssize_t tls_write(const char* ptr, size_t size) {
    auto until = write_deadline();
    for (;;) {
      ERR_clear_error();
      int n = SSL_write(ssl_, ptr,
                        static_cast<int>(std::min<size_t>(
                          size, std::numeric_limits<int>::max())));
      if (n > 0)
        return n;
      if (!tls_wait(n, until))
        return -1;
    }
  }

  steady::time_point write_deadline() const {
    if (!write_until_)
      write_until_ = steady::now() + write_timeout;
    return *write_until_;
  }

  // Follows the bytes handed out until the empty line that ends the head,
  // then gives the body its own deadline.
  void scan(const char* p, size_t n) {
    for (size_t i = 0; i < n && in_head_; ++i) {
      if (p[i] == '\n') {
        if (line_len_ == 0) {
          in_head_ = false;
          read_until_ = steady::now() + body_timeout;
        }
        line_len_ = 0;
      } else if (p[i] != '\r') {
        ++line_len_;
      }
    }
  }

  int sock_;
  SSL* ssl_;
  const std::atomic<bool>& stopping_;
  std::array<char, 4096> buf_{};
  size_t off_ = 0;
  size_t len_ = 0;
  steady::time_point read_until_{};
  mutable std::optional<steady::time_point> write_until_;
  bool in_head_ = true;
  size_t line_len_ = 0;
};

// The library's task queue, with threads started on demand up to
// max_workers; each job learns when its connection was accepted.
class connection_pool final : public httplib::TaskQueue {
public:
  void enqueue(std::function<void()> fn) override {
    std::lock_guard<std::mutex> guard{mtx_};
    jobs_.push_back({steady::now(), std::move(fn)});
    if (jobs_.size() > idle_ && threads_.size() < max_workers)
      threads_.emplace_back([this] { work(); });
    else
      cv_.notify_one();
  }

  void shutdown() override {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_)
      t.join();
  }

private:
  struct job {
    steady::time_point at;
    std::function<void()> fn;
  };

  void work() {
    // OpenSSL writes with write(2), not send(MSG_NOSIGNAL): a client that
    // hangs up must not raise SIGPIPE in the process.
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
    std::unique_lock<std::mutex> guard{mtx_};
    for (;;) {
      ++idle_;
      cv_.wait(guard, [this] { return !jobs_.empty() || stop_; });
      --idle_;
      if (jobs_.empty())
        return; // stopping
      auto next = std::move(jobs_.front());
      jobs_.pop_front();
      guard.unlock();
      accepted_at = next.at;
      next.fn();
      guard.lock();
    }
  }

  std::mutex mtx_;
  std::condition_variable cv_;
  std::deque<job> jobs_;
  std::vector<std::thread> threads_;
  size_t idle_ = 0;
  bool stop_ = false;
};

// httplib's server with its connection loop replaced: the library parses
// and routes each request, deadline_stream bounds how long that may take.
class hardened_server final : public httplib::Server {
public:
  std::atomic<bool> stopping{false};
  /// HTTPS when set (owned by control_server::impl).
  SSL_CTX* tls = nullptr;

private:
  bool process_and_close_socket(socket_t sock) override {
    auto first_deadline = accepted_at + head_timeout;
    SSL* ssl = nullptr;
    if (tls != nullptr) {
      // The handshake belongs to the first request's head deadline: a
      // client that trickles its hello cannot hold a worker longer.
      ssl = handshake(sock, first_deadline);
      if (ssl == nullptr) {
        ::close(sock);
        return false;
      }
    }
    bool ok = serve(sock, ssl, first_deadline);
    if (ssl != nullptr) {
      SSL_shutdown(ssl); // one close_notify, no wait for the peer's
      SSL_free(ssl);
    }
    ::shutdown(sock, SHUT_RDWR);
    ::close(sock);
    return ok;
  }

  SSL* handshake(int sock, steady::time_point until) {
    int flags = ::fcntl(sock, F_GETFL, 0);
    if (flags < 0 || ::fcntl(sock, F_SETFL, flags | O_NONBLOCK) < 0)
      return nullptr;
    SSL* ssl = SSL_new(tls);
    if (ssl == nullptr || SSL_set_fd(ssl, sock) != 1) {
      SSL_free(ssl);
      return nullptr;
    }
    for (;;) {
      ERR_clear_error();
      int rc = SSL_accept(ssl);
      if (rc == 1)
        return ssl;
      auto err = SSL_get_error(ssl, rc);
      bool ready = (err == SSL_ERROR_WANT_READ &&
                    wait_socket(sock, POLLIN, until, stopping)) ||
                   (err == SSL_ERROR_WANT_WRITE &&
                    wait_socket(sock, POLLOUT, until, stopping));
      if (!ready) {
        SSL_free(ssl);
        return nullptr;
      }
    }
  }

  bool serve(int sock, SSL* ssl, steady::time_point first_deadline) {
    deadline_stream strm{sock, ssl, stopping};
    bool ok = false;
    for (size_t i = 0; i < max_requests_per_connection; ++i) {
      if (svr_sock_ == INVALID_SOCKET)
        break;
      bool ready =
        i == 0 ? strm.next_request(first_deadline, first_deadline)
               : strm.next_request(steady::now() + idle_timeout, std::nullopt);
      if (!ready)
        break;
      bool closed = false;
      ok = process_request(strm, i + 1 == max_requests_per_connection, closed,
                           nullptr);
      if (!ok || closed)
        break;
    }
    return ok;
  }
};

// The server side of TLS from a PEM certificate (chain) and key; TLS 1.2 at
// least. Null with `error` set when a file is missing, unreadable, not PEM,
// or the key does not belong to the certificate.
SSL_CTX* make_tls_context(const std::string& cert, const std::string& key,
                          std::string& error) {
  auto openssl_error = [] {
    auto code = ERR_get_error();
    if (code == 0)
      return std::string{"unknown OpenSSL error"};
    std::array<char, 256> buf{};
    ERR_error_string_n(code, buf.data(), buf.size());
    return std::string{buf.data()};
  };
  auto readable = [&error](const char* what, const std::string& path) {
    if (::access(path.c_str(), R_OK) == 0)
      return true;
    error = std::string{"[control] "} + what + ": cannot read '" + path +
            "': " + std::strerror(errno);
    return false;
  };
  if (!readable("tls_cert", cert) || !readable("tls_key", key))
    return nullptr;
  ERR_clear_error();
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr) {
    error = "[control] TLS: " + openssl_error();
    return nullptr;
  }
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE);
  if (SSL_CTX_use_certificate_chain_file(ctx, cert.c_str()) != 1)
    error = "[control] tls_cert: '" + cert +
            "' is not a PEM certificate: " + openssl_error();
  else if (SSL_CTX_use_PrivateKey_file(ctx, key.c_str(), SSL_FILETYPE_PEM) != 1)
    // OpenSSL checks the key against the certificate as it loads it.
    error = ERR_GET_REASON(ERR_peek_error()) == X509_R_KEY_VALUES_MISMATCH
              ? "[control] tls_key: '" + key + "' does not belong to '" + cert +
                  "': " + openssl_error()
              : "[control] tls_key: '" + key +
                  "' is not a PEM private key: " + openssl_error();
  else if (SSL_CTX_check_private_key(ctx) != 1)
    error = "[control] tls_key: '" + key + "' does not belong to '" + cert +
            "': " + openssl_error();
  if (!error.empty()) {
    SSL_CTX_free(ctx);
    return nullptr;
  }
  return ctx;
}

const char* const json_type = "application/json";
const char* const metrics_type = "text/plain; version=0.0.4; charset=utf-8";

// dump() throws on invalid UTF-8, and a service's last_error may hold any
// bytes: replace them instead.
void send_json(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace) +
                    '\n',
                  json_type);
}

void send_error(httplib::Response& res, int status, const std::string& msg) {
  send_json(res, status, json{{"error", msg}});
}

void send_result(httplib::Response& res, const control_result& r) {
  send_json(res, r.status, r.body);
}

// `?cascade=true|false` (absent: false); nothing for another value.
std::optional<bool> flag_of(const httplib::Request& req, const char* name,
                            bool fallback) {
  if (!req.has_param(name))
    return fallback;
  auto x = req.get_param_value(name);
  if (x == "true" || x == "1")
    return true;
  if (x == "false" || x == "0")
    return false;
  return std::nullopt;
}

std::optional<bool> cascade_of(const httplib::Request& req) {
  return flag_of(req, "cascade", false);
}

// The filters and page of GET /services; nothing (and `why`) when a
// parameter is malformed.
std::optional<service_query> query_of(const httplib::Request& req,
                                      std::string& why) {
  service_query q;
  if (req.has_param("state")) {
    q.state = req.get_param_value("state");
    if (!parse_service_state(q.state)) {
      why = "state: no state named '" + q.state +
            "' (expected initialized, configured, starting, running, "
            "stopping, stopped or failed)";
      return std::nullopt;
    }
  }
  if (req.has_param("type"))
    q.type = req.get_param_value("type");
  if (req.has_param("after"))
    q.after = req.get_param_value("after");
  if (req.has_param("limit")) {
    auto x = req.get_param_value("limit");
    size_t n = 0;
    auto [end, ec] = std::from_chars(x.data(), x.data() + x.size(), n);
    if (ec != std::errc{} || end != x.data() + x.size() || n == 0) {
      why = "limit: expected a whole number >= 1, got '" + x + "'";
      return std::nullopt;
    }
    q.limit = n;
  }
  return q;
}

std::string query_escape(std::string_view x) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : x) {
    auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) != 0 || c == '-' || c == '_' || c == '.' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += hex[u >> 4];
      out += hex[u & 15];
    }
  }
  return out;
}

// The path and query of the page after `q`'s, which ended at `last`.
std::string next_link(const service_query& q, const std::string& last) {
  std::string out = "/services?";
  if (!q.state.empty())
    out += "state=" + query_escape(q.state) + "&";
  if (!q.type.empty())
    out += "type=" + query_escape(q.type) + "&";
  out += "limit=" + std::to_string(q.limit) + "&after=" + query_escape(last);
  return out;
}

} // namespace

control_result control_error(int status, std::string message) {
  return {status, json{{"error", std::move(message)}}};
}

control_result control_invalid(std::string message,
                               const std::vector<control_field_error>& errors) {
  auto list = json::array();
  for (auto& e : errors)
    list.push_back(json{{"path", e.path}, {"message", e.message}});
  return {400,
          json{{"error", std::move(message)}, {"errors", std::move(list)}}};
}

namespace {

constexpr enum_names<control_action, 3> action_names{{{
  {control_action::start, "start"},
  {control_action::stop, "stop"},
  {control_action::restart, "restart"},
}}};

} // namespace

std::string to_string(control_action x) {
  return std::string{action_names.name(x, "?")};
}

std::optional<control_action>
parse_control_action(std::string_view x) noexcept {
  return action_names.parse(x);
}

control_model::~control_model() = default;

std::optional<control_address>
parse_control_address(std::string_view str) noexcept {
  control_address out;
  std::string_view port = str;
  if (auto colon = str.rfind(':'); colon != std::string_view::npos) {
    auto host = str.substr(0, colon);
    port = str.substr(colon + 1);
    if (!host.empty() && host.front() == '[') {
      if (host.size() < 3 || host.back() != ']')
        return std::nullopt;
      host = host.substr(1, host.size() - 2);
    } else if (host.find(':') != std::string_view::npos) {
      return std::nullopt; // a bare IPv6 address needs brackets
    }
    out.host = std::string{host};
  }
  if (out.host.empty())
    out.host = "127.0.0.1";
  if (port.empty() || port.size() > 5)
    return std::nullopt;
  unsigned value = 0;
  auto [end, ec] =
    std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc{} || end != port.data() + port.size() || value > 65535)
    return std::nullopt;
  out.port = static_cast<uint16_t>(value);
  return out;
}

bool constant_time_equal(std::string_view x, std::string_view y) noexcept {
  // Walk the longer string in full and fold every difference into one value:
  // no early exit, no data-dependent branch.
  auto n = std::max(x.size(), y.size());
  unsigned diff = x.size() == y.size() ? 0U : 1U;
  for (size_t i = 0; i < n; ++i) {
    auto a = i < x.size() ? static_cast<unsigned char>(x[i]) : 0U;
    auto b = i < y.size() ? static_cast<unsigned char>(y[i]) : 0U;
    diff |= a ^ b;
  }
  return diff == 0;
}

struct control_server::impl {
  // Declared first so that it outlives the server that uses it.
  std::unique_ptr<SSL_CTX, void (*)(SSL_CTX*)> tls{nullptr, SSL_CTX_free};
  hardened_server http;
  std::thread thread;
  std::atomic<bool> listening_done{false};
  control_model* model = nullptr;
  control_access access;
  std::shared_ptr<const log_ring> logs;
  std::string host;
  uint16_t port = 0;
  std::shared_ptr<spdlog::logger> log;

  // Every handler runs behind this: a throwing model answers 500, never
  // unwinds into the HTTP library.
  template <class F>
  httplib::Server::Handler guarded(F f) {
    return [this, f](const httplib::Request& req, httplib::Response& res) {
      try {
        f(req, res);
      } catch (const std::exception& e) {
        log->error("{} {}: {}", req.method, req.path, e.what());
        send_error(res, 500, std::string{"internal error: "} + e.what());
      } catch (...) {
        log->error("{} {}: unknown exception", req.method, req.path);
        send_error(res, 500, "internal error");
      }
    };
  }

  // A POST handler that reads its own body: the library would wait for a
  // body that a request without Content-Length (`curl -X POST URL`) never
  // sends, until its read timeout, then answer 400. `f(req, body, res)`.
  template <class F>
  httplib::Server::HandlerWithContentReader posted(F f) {
    auto inner = [f](const httplib::Request& req, httplib::Response& res,
                     const httplib::ContentReader& reader) {
      std::string body;
      if (req.has_header("Content-Length") ||
          req.has_header("Transfer-Encoding")) {
        bool too_large = false;
        bool read = reader([&](const char* p, size_t n) {
          if (body.size() + n > max_body_bytes) {
            too_large = true;
            return false;
          }
          body.append(p, n);
          return true;
        });
        if (!read) {
          res.set_header("Connection", "close");
          if (too_large || res.status == 413)
            send_error(res, 413,
                       "request body over " + std::to_string(max_body_bytes) +
                         " bytes");
          else
            send_error(res, 400, "incomplete request body");
          return;
        }
      }
      f(req, body, res);
    };
    return [this, inner](const httplib::Request& req, httplib::Response& res,
                         const httplib::ContentReader& reader) {
      guarded([&](auto& rq, auto& rs) { inner(rq, rs, reader); })(req, res);
    };
  }

  enum class grant : uint8_t { none, read, admin };

  // What the request's credential allows. The scheme is matched in any case
  // ("Bearer", "bearer"), the token exactly and in constant time.
  grant credential(const httplib::Request& req) const {
    auto& a = access;
    if (a.token.empty() && a.read_token.empty())
      return grant::admin;
    auto header = req.get_header_value("Authorization");
    std::string_view h{header};
    auto space = h.find(' ');
    if (space == std::string_view::npos)
      return grant::none;
    auto scheme = h.substr(0, space);
    static constexpr std::string_view bearer = "bearer";
    if (scheme.size() != bearer.size() ||
        !std::equal(scheme.begin(), scheme.end(), bearer.begin(),
                    [](char x, char y) {
                      return std::tolower(static_cast<unsigned char>(x)) == y;
                    }))
      return grant::none;
    auto given = h.substr(space + 1);
    while (!given.empty() && given.front() == ' ')
      given.remove_prefix(1);
    // Both compared, so the time taken does not say which one matched.
    bool admin = !a.token.empty() && constant_time_equal(given, a.token);
    bool read =
      !a.read_token.empty() && constant_time_equal(given, a.read_token);
    return admin ? grant::admin : read ? grant::read : grant::none;
  }

  // The dashboard page holds no data (it fetches everything with the
  // credential the user enters), so it is always public.
  bool is_public(const httplib::Request& req) const {
    return (req.method == "GET" || req.method == "HEAD") &&
           (req.path == "/" ||
            std::find(access.public_paths.begin(), access.public_paths.end(),
                      req.path) != access.public_paths.end());
  }

  // GET / (the page) and GET /logs (its log tail); dashboard.hpp.
  void dashboard_routes() {
    auto needs_token = !access.token.empty() || !access.read_token.empty();
    http.Get("/", guarded([needs_token](auto&, auto& res) {
               res.status = 200;
               res.set_header("Cache-Control", "no-store");
               res.set_header("X-Content-Type-Options", "nosniff");
               res.set_header("Content-Security-Policy",
                              "default-src 'none'; connect-src 'self'; "
                              "img-src data:; style-src 'unsafe-inline'; "
                              "script-src 'unsafe-inline'; "
                              "frame-ancestors 'none'");
               res.set_content(dashboard_page(needs_token),
                               "text/html; charset=utf-8");
             }));
    http.Get("/logs", guarded([this](auto& req, auto& res) {
               if (!logs) {
                 send_error(res, 404, "no log tail in this process");
                 return;
               }
               auto n = parse_log_tail(req.get_param_value("tail"));
               if (!n) {
                 send_error(res, 400,
                            "tail: expected a number of lines, e.g. 100");
                 return;
               }
               send_json(res, 200, logs->tail(*n));
             }));
  }

  void routes() {
    http.set_pre_routing_handler(
      [this](const httplib::Request& req, httplib::Response& res) {
        if (is_public(req))
          return httplib::Server::HandlerResponse::Unhandled;
        auto g = credential(req);
        if (g == grant::admin ||
            (g == grant::read && (req.method == "GET" || req.method == "HEAD")))
          return httplib::Server::HandlerResponse::Unhandled;
        if (g == grant::read) {
          send_error(res, 403,
                     "forbidden: the read-only credential ([control] "
                     "read_token) cannot " +
                       req.method + " " + req.path +
                       "; use the admin token ([control] token)");
          return httplib::Server::HandlerResponse::Handled;
        }
        res.set_header("WWW-Authenticate", "Bearer realm=\"troupe\"");
        send_error(res, 401,
                   "unauthorized: send 'Authorization: Bearer TOKEN' "
                   "([control] token, or read_token for GET routes)");
        return httplib::Server::HandlerResponse::Handled;
      });
    dashboard_routes();
    http.Get("/services", guarded([this](auto& req, auto& res) {
               std::string why;
               auto q = query_of(req, why);
               if (!q) {
                 send_error(res, 400, why);
                 return;
               }
               auto page = model->services(*q);
               if (!page.error.empty()) {
                 send_error(res, 400, page.error);
                 return;
               }
               res.set_header("X-Total-Count", std::to_string(page.total));
               if (!page.next_after.empty()) {
                 res.set_header("X-Next-After", page.next_after);
                 res.set_header("Link", "<" + next_link(*q, page.next_after) +
                                          ">; rel=\"next\"");
               }
               send_json(res, 200, page.items);
             }));
    http.Get(R"(/services/([^/]+))", guarded([this](auto& req, auto& res) {
               auto name = req.matches[1].str();
               if (auto st = model->service(name))
                 send_json(res, 200, *st);
               else
                 send_error(res, 404, "unknown service '" + name + "'");
             }));
    // ?probe=false: 200 whatever the verdict (the body's `ok` says it), for
    // a reader of the report such as the dashboard, whose browser would
    // log every 503 as a failed request. ?services=all: every service, not
    // only those that need attention.
    http.Get("/health", guarded([this](auto& req, auto& res) {
               auto probe = flag_of(req, "probe", true);
               if (!probe) {
                 send_error(res, 400, "probe: expected true or false");
                 return;
               }
               bool all = false;
               if (req.has_param("services")) {
                 if (req.get_param_value("services") != "all") {
                   send_error(res, 400,
                              "services: expected 'all' (every service) or "
                              "nothing (those that need attention)");
                   return;
                 }
                 all = true;
               }
               auto h = model->health(all);
               send_json(res, h.ok || !*probe ? 200 : 503, h.body);
             }));
    http.Get("/readyz", guarded([this](auto&, auto& res) {
               auto h = model->health(false);
               auto not_ready = h.body.value("not_ready", json::array());
               send_json(res, h.ok ? 200 : 503,
                         json{{"ready", h.ok}, {"not_ready", not_ready}});
             }));
    http.Get("/livez", guarded([this](auto&, auto& res) {
               bool live = model->live();
               send_json(res, live ? 200 : 503, json{{"live", live}});
             }));
    http.Get("/metrics", guarded([this](auto&, auto& res) {
               res.status = 200;
               res.set_content(model->metrics_text(), metrics_type);
             }));
    http.Post(R"(/services/([^/]+)/([^/]+))",
              posted([this](auto& req, auto&, auto& res) {
                auto name = req.matches[1].str();
                auto what = parse_control_action(req.matches[2].str());
                if (!what) {
                  send_error(res, 404,
                             "unknown action '" + req.matches[2].str() +
                               "' (expected start, stop or restart)");
                  return;
                }
                auto cascade = cascade_of(req);
                if (!cascade) {
                  send_error(res, 400, "cascade: expected true or false");
                  return;
                }
                send_result(res, model->action(name, *what, *cascade));
              }));
    http.Post("/services", posted([this](auto&, auto& text, auto& res) {
                json body;
                try {
                  body = json::parse(text);
                } catch (const json::parse_error& e) {
                  send_error(res, 400,
                             std::string{"malformed JSON body: "} + e.what());
                  return;
                }
                if (!body.is_object()) {
                  send_error(res, 400,
                             "expected a JSON object {\"name\": ..., "
                             "\"type\": ..., \"settings\": {...}}");
                  return;
                }
                send_result(res, model->add(body));
              }));
    http.Delete(R"(/services/([^/]+))", guarded([this](auto& req, auto& res) {
                  auto cascade = cascade_of(req);
                  if (!cascade) {
                    send_error(res, 400, "cascade: expected true or false");
                    return;
                  }
                  send_result(res,
                              model->remove(req.matches[1].str(), *cascade));
                }));
    // Anything else: a JSON 404 rather than the library's empty one.
    auto no_route = guarded([](auto& req, auto& res) {
      send_error(res, 404, "no route " + req.method + " " + req.path);
    });
    auto no_route_with_body = posted([](auto& req, auto&, auto& res) {
      send_error(res, 404, "no route " + req.method + " " + req.path);
    });
    http.Get(".*", no_route);
    http.Post(".*", no_route_with_body);
    http.Put(".*", no_route_with_body);
    http.Patch(".*", no_route_with_body);
    http.Delete(".*", no_route);
    http.Options(".*", no_route);
    // Errors the library answers itself (400 for a bad request line, 413 for
    // a large body, ...) get a JSON body too; ours already have one.
    http.set_error_handler(httplib::Server::HandlerWithResponse{
      [](const httplib::Request&, httplib::Response& res) {
        if (!res.body.empty())
          return httplib::Server::HandlerResponse::Unhandled;
        send_error(res, res.status, "HTTP " + std::to_string(res.status));
        return httplib::Server::HandlerResponse::Handled;
      }});
    http.set_logger(
      [this](const httplib::Request& req, const httplib::Response& res) {
        log->debug("{} {} {} -> {}", req.remote_addr, req.method, req.path,
                   res.status);
      });
  }
};

control_server::control_server() = default;

control_server::~control_server() {
  stop();
}

bool is_loopback_host(std::string_view host) noexcept {
  if (host == "localhost")
    return true;
  std::string h{host};
  in_addr v4{};
  if (::inet_pton(AF_INET, h.c_str(), &v4) == 1)
    return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (::inet_pton(AF_INET6, h.c_str(), &v6) == 1)
    return IN6_IS_ADDR_LOOPBACK(&v6);
  return false;
}

std::optional<std::string> control_server::start(control_model& model,
                                                 const std::string& address,
                                                 control_access access) {
  if (running())
    return "control plane already running on " + this->address();
  auto addr = parse_control_address(address);
  if (!addr)
    return "invalid address '" + address +
           "': expected HOST:PORT, e.g. 127.0.0.1:8080";
  if (!access.read_token.empty() && access.token.empty())
    return "[control] read_token needs a token (the admin credential) too";
  if (!access.token.empty() && access.token == access.read_token)
    return "[control] read_token must differ from token";
  for (auto& p : access.public_paths)
    if (p.empty() || p.front() != '/')
      return "[control] public: '" + p + "' is not a path (e.g. \"/livez\")";
  if (access.token.empty() && !access.allow_insecure_bind &&
      !is_loopback_host(addr->host))
    return "refusing to serve the control plane on " + address +
           " without a token: anyone who reaches it could stop services. "
           "Set [control] token (e.g. TROUPE_CONTROL__TOKEN=...), bind "
           "127.0.0.1, or set [control] allow_insecure_bind = true";
  if (access.tls_cert.empty() != access.tls_key.empty())
    return "[control] tls_cert and tls_key go together: set both for HTTPS, "
           "or neither";
  auto self = std::make_unique<impl>();
  if (!access.tls_cert.empty()) {
    std::string error;
    self->tls.reset(make_tls_context(access.tls_cert, access.tls_key, error));
    if (!self->tls)
      return error;
    self->http.tls = self->tls.get();
  }
  self->model = &model;
  self->access = std::move(access);
  self->logs = logs_;
  self->host = addr->host;
  self->log = make_service_logger("control");
  self->http.new_task_queue = [] { return new connection_pool; };
  self->http.set_payload_max_length(max_body_bytes);
  // httplib's default also sets SO_REUSEPORT, which lets a second app bind
  // the same port and silently share its requests: keep only SO_REUSEADDR
  // (a restart may rebind while old connections linger in TIME_WAIT).
  self->http.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  self->routes();
  errno = 0;
  int port =
    addr->port == 0
      ? self->http.bind_to_any_port(addr->host)
      : (self->http.bind_to_port(addr->host, addr->port) ? addr->port : -1);
  if (port <= 0) {
    std::string why =
      errno != 0 ? std::strerror(errno) : "port in use or address not local";
    return "cannot listen on " + address + ": " + why;
  }
  self->port = static_cast<uint16_t>(port);
  auto* raw = self.get();
  self->thread = std::thread{[raw] {
    raw->http.listen_after_bind();
    raw->listening_done = true;
  }};
  // httplib's stop() does nothing before its loop has started: wait for it,
  // so a stop() right after start() cannot leave the thread running.
  while (!raw->http.is_running() && !raw->listening_done)
    std::this_thread::yield();
  impl_ = std::move(self);
  return std::nullopt;
}

uint16_t control_server::port() const noexcept {
  return impl_ ? impl_->port : 0;
}

std::string control_server::address() const {
  if (!impl_)
    return {};
  auto& h = impl_->host;
  auto host = h.find(':') != std::string::npos ? "[" + h + "]" : h;
  return host + ":" + std::to_string(impl_->port);
}

bool control_server::running() const noexcept {
  return impl_ != nullptr;
}

void control_server::stop() {
  if (!impl_)
    return;
  impl_->http.stopping = true;
  impl_->http.stop();
  if (impl_->thread.joinable())
    impl_->thread.join();
  impl_.reset();
}

} // namespace troupe::app
