// echo.forward: the real app, `troupe run apps/examples/echo.toml` with its
// default settings, as a forwarder between two processes: a sender PUSHes
// [echo.request][JSON] into its `in` endpoint (PULL), the echo service
// publishes each request on echo.reply, the `out` endpoint (PUB) sends it to
// a SUB in this process. The raw baseline is a cppzmq forwarder doing the
// same work (PULL -> validate the JSON with nlohmann's parser -> PUB the
// same bytes, XPUB_NODROP like the bridge), with the same sender and
// receiver, in the same run, alternating repetitions. troupe does no more:
// its bridge checks inbound JSON with `nlohmann::json::accept` (no DOM) and
// the echo service republishes the envelope unchanged, so a raw forwarder
// that built a DOM and dumped it would be measuring nlohmann, not troupe.
//
// Processes: this one (the receiver), the sender and the raw forwarder are
// troupe-bench (`--peer echo-send`, `--peer raw-forward`, see
// peer_process.hpp); troupe is the binary found by `find_troupe`, always
// stopped with SIGTERM (SIGKILL after a grace period) when a measurement
// ends, also on failure. No CAF here.

#include "scenarios.hpp"

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>
#include <sys/wait.h>
#include <zmq.hpp>

#include "app_process.hpp"
#include "bridge_flow.hpp"
#include "peer_process.hpp"

namespace troupe::bench {

namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::steady_clock;

const std::string request_topic = "echo.request";
const std::string reply_topic = "echo.reply";
/// The sequence number of warm-up probes.
constexpr int64_t probe_seq = -1;
/// Bytes of the "text" field.
constexpr size_t text_bytes = 200;

/// Returns {"text":"<text_bytes x>","i":i}.
std::string request_json(int64_t i) {
  static const std::string head =
    "{\"text\":\"" + std::string(text_bytes, 'x') + "\",\"i\":";
  return head + std::to_string(i) + "}";
}

// The receiver's bookkeeping: every sequence number once, probes aside.
struct echo_rx {
  explicit echo_rx(uint64_t n) : n(n), seen(n, 0) {}

  void on(const char* data, size_t len) {
    // The reply is the request's JSON re-encoded by troupe (or the raw
    // forwarder), so the keys may come in another order: look for "i".
    std::string_view s{data, len};
    auto at = s.find("\"i\":");
    if (at == std::string_view::npos) {
      fail("a reply without \"i\": " + std::string{s.substr(0, 80)});
      return;
    }
    auto i = std::strtoll(data + at + 4, nullptr, 10);
    if (i == probe_seq) {
      ++probes;
      return;
    }
    if (i < 0 || static_cast<uint64_t>(i) >= n || seen[i] != 0) {
      fail("reply " + std::to_string(i) + " is a duplicate or out of range");
      return;
    }
    seen[i] = 1;
    ++received;
    last = steady_clock::now();
  }

  void fail(std::string why) {
    if (failure.empty())
      failure = std::move(why);
  }

  const uint64_t n;
  std::vector<char> seen;
  uint64_t received = 0;
  uint64_t probes = 0;
  steady_clock::time_point last;
  std::string failure;
};

// Sends probes until one came back (the connections and the SUB's
// subscription are up: no slow joiner loses measured messages), then `n`
// requests through the forwarder at `in` and counts the replies from
// `out`. `check_forwarder` throws when the forwarder died. Returns msg/s
// from "go" to the last reply.
double drive(const std::string& in, const std::string& out, uint64_t n,
             const std::function<void()>& check_forwarder,
             const std::string& side) {
  zmq::context_t ctx{1};
  zmq::socket_t sub{ctx, zmq::socket_type::sub};
  sub.set(zmq::sockopt::rcvhwm, hwm);
  sub.set(zmq::sockopt::linger, 0);
  sub.set(zmq::sockopt::subscribe, reply_topic);
  sub.connect(out);
  peer_process sender{{"echo-send", in, std::to_string(n)}};
  auto& ch = sender.channel();
  ch.expect("'ready'", ready_timeout);
  echo_rx rx{n};
  std::vector<zmq::pollitem_t> items{{sub.handle(), 0, ZMQ_POLLIN, 0},
                                     {nullptr, ch.fd(), ZMQ_POLLIN, 0}};
  zmq::message_t topic;
  zmq::message_t payload;
  auto step = [&] {
    zmq::poll(items, milliseconds{2});
    for (int batch = 0; batch < 4096; ++batch) {
      if (!sub.recv(topic, zmq::recv_flags::dontwait))
        break;
      if (!topic.more() || !sub.recv(payload) || payload.more())
        rx.fail("a reply that is not exactly two frames");
      else if (topic.to_string_view() != reply_topic)
        rx.fail("a reply on topic '" + topic.to_string() + "'");
      else
        rx.on(payload.data<char>(), payload.size());
    }
    if (!rx.failure.empty())
      throw std::runtime_error(side + ": " + rx.failure);
  };
  bool done = false;
  auto read_lines = [&] {
    while (auto line = ch.receive(milliseconds{0})) {
      if (line->rfind("done", 0) != 0)
        throw std::runtime_error("unexpected line from the sender: '" + *line +
                                 "'");
      done = true;
    }
  };
  auto deadline = steady_clock::now() + warm_timeout;
  while (rx.probes == 0) {
    step();
    check_forwarder();
    read_lines();
    if (steady_clock::now() > deadline)
      throw std::runtime_error(side + ": no probe came back within " +
                               std::to_string(warm_timeout.count()) + " s");
  }
  auto t_go = steady_clock::now();
  ch.send("go");
  auto last_change = t_go;
  uint64_t seen = 0;
  while (rx.received < n) {
    step();
    read_lines();
    auto now = steady_clock::now();
    if (rx.received != seen) {
      seen = rx.received;
      last_change = now;
    } else {
      check_forwarder();
    }
    if (done && now - last_change > settle_time)
      throw std::runtime_error(side + ": " + std::to_string(n - rx.received) +
                               " of " + std::to_string(n) +
                               " replies never arrived");
    if (now - t_go > flow_timeout)
      throw std::runtime_error(side + ": timed out with " +
                               std::to_string(rx.received) + " of " +
                               std::to_string(n) + " replies");
  }
  auto secs = std::chrono::duration<double>(rx.last - t_go).count();
  if (!done)
    ch.expect("'done'", milliseconds{30'000});
  sender.finish();
  return static_cast<double>(n) / secs;
}

double raw_forward_rate(uint64_t n, double& rss_mb) {
  peer_process fwd{{"raw-forward"}};
  auto ready = fwd.channel().expect("'ready'", ready_timeout);
  auto sp1 = ready.find(' ');
  auto sp2 = ready.rfind(' ');
  if (ready.rfind("ready ", 0) != 0 || sp1 == sp2)
    throw std::runtime_error("raw forwarder: unexpected line '" + ready + "'");
  auto in = ready.substr(sp1 + 1, sp2 - sp1 - 1);
  auto out = ready.substr(sp2 + 1);
  auto rate = drive(
    in, out, n,
    [&] {
      if (auto line = fwd.channel().receive(milliseconds{0}))
        throw std::runtime_error("raw forwarder: unexpected line '" + *line +
                                 "'");
    },
    "raw");
  rss_mb = static_cast<double>(peak_rss_bytes(fwd.pid())) / 1e6;
  fwd.finish();
  return rate;
}

double troupe_forward_rate(const run_options& opts, uint64_t n,
                           double& rss_mb) {
  auto exe = find_troupe(opts.troupe_path);
  temp_dir dir;
  auto in = free_tcp_address();
  auto out = free_tcp_address();
  app_process app{exe,
                  {"run", opts.echo_app, "--set",
                   "services.bridge.endpoints.in.bind=" + in, "--set",
                   "services.bridge.endpoints.out.bind=" + out},
                  dir.path() + "/troupe.log"};
  app.await_log("app 'echo' running", ready_timeout);
  auto rate = drive(
    in, out, n,
    [&] {
      if (!app.alive())
        throw std::runtime_error("troupe exited during the run; its output "
                                 "ends:\n" +
                                 app.log_tail());
    },
    "troupe");
  rss_mb = static_cast<double>(peak_rss_bytes(app.pid())) / 1e6;
  auto status = app.stop(seconds{10});
  if (!status)
    throw std::runtime_error("troupe did not exit within 10 s of SIGTERM "
                             "(killed); its output ends:\n" +
                             app.log_tail());
  if (!WIFEXITED(*status) || WEXITSTATUS(*status) != 0)
    throw std::runtime_error(
      "troupe exited with status " + std::to_string(WEXITSTATUS(*status)) +
      " after SIGTERM; its output ends:\n" + app.log_tail());
  return rate;
}

result echo_forward(const run_options& opts) {
  uint64_t n = opts.quick ? 20'000 : 200'000;
  result r;
  r.name = "echo.forward";
  r.unit = "msg/s";
  r.workload =
    std::to_string(n) +
    " requests [echo.request][{\"text\":\"<200 B>\",\"i\":k}] PUSHed by a "
    "sender process into a forwarder, replies [echo.reply][JSON] from its "
    "PUB counted by a SUB in the measuring process, timed from 'go' (sent "
    "once a probe came back) to the last reply; troupe: `troupe run " +
    opts.echo_app +
    "` with default settings, only the two bind addresses set; raw: cppzmq "
    "PULL -> nlohmann::json::accept (what the bridge's json codec does) -> "
    "PUB of the same bytes (XPUB_NODROP, blocking send), hwm 10000";
  side_figure rss{"forwarder peak RSS MB", {}, {}};
  alternate(
    opts, r,
    [&] {
      double mb = 0;
      auto rate = raw_forward_rate(n, mb);
      rss.raw.values.push_back(mb);
      return rate;
    },
    [&] {
      double mb = 0;
      auto rate = troupe_forward_rate(opts, n, mb);
      rss.troupe.values.push_back(mb);
      return rate;
    });
  // The warm-up repetitions come first; keep the measured ones.
  for (auto* s : {&rss.raw, &rss.troupe})
    s->values.erase(s->values.begin(), s->values.begin() + opts.warmup);
  r.extras.push_back(std::move(rss));
  return r;
}

// -- the peers --------------------------------------------------------------

// Waits for "quit" or the parent closing the channel.
void await_quit(line_channel& ch) {
  try {
    while (auto line = ch.receive(seconds{600}))
      if (*line == "quit")
        return;
  } catch (const std::runtime_error&) {
    // end-of-file: the parent went away, which is a quit too
  }
}

void echo_send(line_channel& ch, const std::string& addr, uint64_t n) {
  zmq::context_t ctx{1};
  zmq::socket_t sock{ctx, zmq::socket_type::push};
  sock.set(zmq::sockopt::sndhwm, hwm);
  sock.set(zmq::sockopt::linger, 1000);
  sock.connect(addr);
  ch.send("ready");
  auto probe = request_json(probe_seq);
  for (;;) {
    if (sock.send(zmq::buffer(request_topic),
                  zmq::send_flags::sndmore | zmq::send_flags::dontwait))
      (void)sock.send(zmq::buffer(probe), zmq::send_flags::none);
    if (auto line = ch.receive(milliseconds{10})) {
      if (*line == "go")
        break;
      throw std::runtime_error("expected 'go', got '" + *line + "'");
    }
  }
  for (uint64_t i = 0; i < n; ++i) {
    auto body = request_json(static_cast<int64_t>(i));
    (void)sock.send(zmq::buffer(request_topic), zmq::send_flags::sndmore);
    (void)sock.send(zmq::buffer(body), zmq::send_flags::none);
  }
  ch.send("done sent=" + std::to_string(n) + " dropped=0");
  await_quit(ch);
}

void raw_forward(line_channel& ch) {
  zmq::context_t ctx{1};
  zmq::socket_t in{ctx, zmq::socket_type::pull};
  zmq::socket_t out{ctx, zmq::socket_type::pub};
  in.set(zmq::sockopt::rcvhwm, hwm);
  in.set(zmq::sockopt::linger, 0);
  out.set(zmq::sockopt::sndhwm, hwm);
  out.set(zmq::sockopt::linger, 1000);
  out.set(zmq::sockopt::xpub_nodrop, 1); // block at the HWM, like the bridge
  in.bind("tcp://127.0.0.1:*");
  out.bind("tcp://127.0.0.1:*");
  ch.send("ready " + in.get(zmq::sockopt::last_endpoint) + " " +
          out.get(zmq::sockopt::last_endpoint));
  std::vector<zmq::pollitem_t> items{{in.handle(), 0, ZMQ_POLLIN, 0},
                                     {nullptr, ch.fd(), ZMQ_POLLIN, 0}};
  zmq::message_t topic;
  zmq::message_t payload;
  for (;;) {
    zmq::poll(items, milliseconds{-1});
    if ((items[1].revents & ZMQ_POLLIN) != 0) {
      await_quit(ch); // "quit" or end-of-file is all the parent sends
      return;
    }
    while (in.recv(topic, zmq::recv_flags::dontwait)) {
      if (!topic.more() || !in.recv(payload) || payload.more())
        throw std::runtime_error("a request that is not exactly two frames");
      // What troupe does on this path: the bridge's json codec validates
      // with nlohmann's parser (accept, no DOM) and the echo service passes
      // the bytes on unchanged.
      if (!nlohmann::json::accept(payload.data<char>(),
                                  payload.data<char>() + payload.size()))
        throw std::runtime_error("a request that is not JSON");
      (void)out.send(zmq::buffer(reply_topic), zmq::send_flags::sndmore);
      (void)out.send(payload, zmq::send_flags::none);
    }
  }
}

} // namespace

std::vector<scenario> echo_scenarios() {
  return {{"echo.forward",
           "troupe run apps/examples/echo.toml (defaults): PUSH -> in -> echo "
           "-> out -> SUB, ~220 B JSON, vs a raw cppzmq PULL -> check JSON -> "
           "PUB forwarder (msg/s)",
           echo_forward, true}};
}

bool echo_peer(const std::vector<std::string>& argv, line_channel& ch) {
  auto& role = argv.at(0);
  if (role == "echo-send")
    echo_send(ch, argv.at(1), std::stoull(argv.at(2)));
  else if (role == "raw-forward")
    raw_forward(ch);
  else
    return false;
  return true;
}

} // namespace troupe::bench
