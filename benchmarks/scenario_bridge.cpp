// Bridge scenarios: two processes talking over ZeroMQ (tcp on 127.0.0.1 or
// ipc under a temp dir). Every figure is troupe (actor -> local bus ->
// bridge -> ZMQ -> bridge -> local bus -> actor) beside raw cppzmq doing the
// same transfer between two processes, in the same run, alternating
// repetitions (see report.hpp `alternate`).
//
// The measuring process binds and receives (throughput) or pings
// (latency); the second process is this binary re-executed as
// `troupe-bench --peer ROLE ...` (peer_process.hpp) that connects and sends
// or echoes. Each measurement starts a fresh peer and, on the troupe side,
// fresh actor systems on both ends; only the message flow is timed.
//
// Messages are two frames, [topic][payload], on both sides. The payload is
// `size` bytes whose first 8 carry a sequence number; troupe publishes it as
// a `bridge::envelope` over endpoints with `codec = "raw"`, so the bridge
// passes the bytes through and no JSON is encoded or parsed. Receivers check
// the order and count what never arrived.

#include "scenarios.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <nlohmann/json.hpp>
#include <poll.h>
#include <zmq.hpp>

#include "measure.hpp"
#include "peer_process.hpp"
#include "troupe/actors/atoms.hpp"
#include "troupe/actors/init.hpp"
#include "troupe/actors/logging.hpp"
#include "troupe/actors/service_host.hpp"
#include "troupe/actors/topic_bus.hpp"
#include "troupe/bridge/bridge_service.hpp"

namespace troupe::bench {

namespace {

using emit_atom = caf::atom_constant<caf::atom("bb_emit")>;
using warm_atom = caf::atom_constant<caf::atom("bb_warm")>;
using go_atom = caf::atom_constant<caf::atom("bb_go")>;

using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::steady_clock;

/// The sequence number of warm-up messages (never counted).
constexpr uint64_t warm_seq = UINT64_MAX;

/// Same high-water mark on both sides: the bridge's endpoint default.
constexpr int hwm = 10000;

const std::string data_topic = "bench.t";
const std::string ping_topic = "ping.t";
const std::string pong_topic = "pong.t";

constexpr milliseconds ready_timeout{30'000};
constexpr seconds warm_timeout{20};
constexpr seconds flow_timeout{120};
/// After the sender said it is done, how long the receiver waits without
/// progress before counting the rest as lost.
constexpr milliseconds settle_time{1000};

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
           steady_clock::now().time_since_epoch())
    .count();
}

std::string make_payload(size_t size, uint64_t seq) {
  std::string out(size, 'x');
  std::memcpy(out.data(), &seq, sizeof(seq));
  return out;
}

void set_seq(std::string& payload, uint64_t seq) {
  std::memcpy(payload.data(), &seq, sizeof(seq));
}

uint64_t get_seq(const void* data) {
  uint64_t seq = 0;
  std::memcpy(&seq, data, sizeof(seq));
  return seq;
}

// -- what is measured
// -------------------------------------------------------------

enum class pattern { push_pull, pub_sub };

std::string to_string(pattern p) {
  return p == pattern::push_pull ? "push_pull" : "pub_sub";
}

pattern parse_pattern(const std::string& s) {
  if (s == "push_pull")
    return pattern::push_pull;
  if (s == "pub_sub")
    return pattern::pub_sub;
  throw std::runtime_error("unknown pattern '" + s + "'");
}

struct flow {
  pattern pat = pattern::push_pull;
  std::string transport; // "tcp" or "ipc"
  size_t size = 16;
  uint64_t n = 0;
};

// Where the measuring side binds: a free port chosen by the kernel (read
// back after bind), or a socket file under `dir`.
std::string bind_address(const std::string& transport, const temp_dir& dir,
                         const std::string& name) {
  if (transport == "tcp")
    return "tcp://127.0.0.1:*";
  return "ipc://" + dir.path() + "/" + name + ".sock";
}

// -- the receiving side's bookkeeping
// ---------------------------------------------

// The first failure seen on an actor thread, for the measuring thread.
class failure_note {
public:
  void fail(std::string why) {
    std::lock_guard<std::mutex> guard{mtx_};
    if (error_.empty())
      error_ = std::move(why);
  }

  std::string failure() {
    std::lock_guard<std::mutex> guard{mtx_};
    return error_;
  }

private:
  std::mutex mtx_;
  std::string error_;
};

// Written by whoever receives (an actor thread, or the measuring thread for
// raw), read by the measuring thread.
struct rx_progress : failure_note {
  rx_progress(uint64_t n, size_t size) : n(n), size(size) {}

  const uint64_t n;
  const size_t size;
  std::atomic<uint64_t> received{0};
  std::atomic<uint64_t> warm{0};
  /// steady_clock ns when the last message (sequence n - 1) arrived.
  std::atomic<int64_t> complete_ns{0};
  /// Receiver only: the sequence number expected next.
  uint64_t next = 0;

  // Takes one payload. Gaps are losses (counted by the caller as n -
  // received); anything out of order or malformed fails the run.
  void on(const void* data, size_t len) {
    if (len != size) {
      fail("payload of " + std::to_string(len) + " bytes, expected " +
           std::to_string(size));
      return;
    }
    auto seq = get_seq(data);
    if (seq == warm_seq) {
      warm.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    if (seq < next || seq >= n) {
      fail("message " + std::to_string(seq) + " arrived after " +
           std::to_string(next) + " (duplicate, reordered or corrupt)");
      return;
    }
    next = seq + 1;
    received.fetch_add(1, std::memory_order_relaxed);
    if (seq == n - 1)
      complete_ns.store(now_ns(), std::memory_order_release);
  }
};

struct sender_report {
  bool done = false;
  uint64_t sent = 0;
  uint64_t dropped = 0;
};

// Reads "done sent=N dropped=N".
void take_line(const std::string& line, sender_report& rep) {
  unsigned long long sent = 0;
  unsigned long long dropped = 0;
  if (std::sscanf(line.c_str(), "done sent=%llu dropped=%llu", &sent,
                  &dropped) != 2)
    throw std::runtime_error("unexpected line from the peer: '" + line + "'");
  rep.done = true;
  rep.sent = sent;
  rep.dropped = dropped;
}

/// Waits (up to a time-out) for input and handles it.
using step_fn = std::function<void(milliseconds)>;

void check(rx_progress& p) {
  if (auto f = p.failure(); !f.empty())
    throw std::runtime_error(f);
}

// Steps until a warm-up message came through the whole path (the PUB/SUB
// subscription, or the PUSH/PULL connection, is established end to end).
void await_warm(rx_progress& p, line_channel& ch, const step_fn& step) {
  auto deadline = steady_clock::now() + warm_timeout;
  while (p.warm.load() == 0) {
    step(milliseconds{2});
    check(p);
    if (auto line = ch.receive(milliseconds{0}))
      throw std::runtime_error("unexpected line from the peer: '" + *line +
                               "'");
    if (steady_clock::now() > deadline)
      throw std::runtime_error(
        "no warm-up message arrived within " +
        std::to_string(warm_timeout.count()) +
        " s (connection or subscription never established)");
  }
}

struct flow_outcome {
  double rate = 0;
  uint64_t lost = 0;
};

// Sends "go", then steps until the last message arrived, or the sender is
// done and nothing came for `settle_time` (the rest is lost). Returns the
// rate over the time from "go" to the last arrival.
flow_outcome receive_flow(rx_progress& p, line_channel& ch, const step_fn& step,
                          pattern pat, const std::string& side) {
  sender_report rep;
  auto t_go = steady_clock::now();
  ch.send("go");
  uint64_t seen = 0;
  auto last_change = t_go;
  auto finish = [&](steady_clock::time_point end) {
    // The sender reports once its last message went out, which may be after
    // the receiver has it: wait for its counts (not timed).
    if (!rep.done)
      take_line(ch.expect("'done'", milliseconds{30'000}), rep);
    auto got = p.received.load();
    auto secs = std::chrono::duration<double>(end - t_go).count();
    if (got == 0 || secs <= 0)
      throw std::runtime_error(side + ": nothing received");
    flow_outcome out{static_cast<double>(got) / secs, p.n - got};
    if (rep.dropped > 0)
      throw std::runtime_error(side + ": the sender dropped " +
                               std::to_string(rep.dropped) +
                               " message(s) under on_full = block");
    if (pat == pattern::push_pull && out.lost > 0)
      throw std::runtime_error(side + ": " + std::to_string(out.lost) + " of " +
                               std::to_string(p.n) +
                               " messages lost over PUSH/PULL with "
                               "blocking sends");
    return out;
  };
  for (;;) {
    step(milliseconds{2});
    check(p);
    if (auto ns = p.complete_ns.load(std::memory_order_acquire); ns != 0) {
      return finish(steady_clock::time_point{std::chrono::nanoseconds{ns}});
    }
    while (auto line = ch.receive(milliseconds{0}))
      take_line(*line, rep);
    auto now = steady_clock::now();
    if (auto got = p.received.load(); got != seen) {
      seen = got;
      last_change = now;
    }
    if (rep.done && now - last_change > settle_time)
      return finish(last_change);
    if (now - t_go > flow_timeout)
      throw std::runtime_error(
        side + ": timed out after " + std::to_string(flow_timeout.count()) +
        " s with " + std::to_string(p.received.load()) + " of " +
        std::to_string(p.n) + " messages received");
  }
}

// -- CAF plumbing
// ------------------------------------------------------------------

struct bench_config : caf::actor_system_config {
  explicit bench_config(int threads) {
    init_actor_system_config(*this);
    if (threads > 0)
      set("scheduler.max-threads", threads);
  }
};

// Sends an exit to every actor it holds when leaving scope; declared after
// the actor system, it runs before the system's destructor waits for them.
class exit_guard {
public:
  exit_guard() = default;
  exit_guard(const exit_guard&) = delete;
  exit_guard& operator=(const exit_guard&) = delete;

  ~exit_guard() {
    for (auto& h : actors_)
      caf::anon_send_exit(h, caf::exit_reason::user_shutdown);
  }

  template <class Handle>
  Handle add(Handle h) {
    actors_.push_back(caf::actor_cast<caf::actor>(h));
    return h;
  }

private:
  std::vector<caf::actor> actors_;
};

template <class T, class Handle, class... Ts>
T ask(caf::actor_system& sys, const Handle& h, const std::string& what,
      Ts&&... xs) {
  caf::scoped_actor self{sys};
  std::optional<T> out;
  std::string err;
  self->request(h, seconds{60}, std::forward<Ts>(xs)...)
    .receive([&](T& x) { out = std::move(x); },
             [&](caf::error& e) { err = sys.render(e); });
  if (!out)
    throw std::runtime_error(what + " failed: " + err);
  return std::move(*out);
}

void expect_state(const std::string& what, service_state got,
                  service_state want) {
  if (got != want)
    throw std::runtime_error(what + " answered state " + to_string(got) +
                             ", expected " + to_string(want));
}

config::table endpoint(std::initializer_list<config::table::value_type> kv) {
  return config::table{kv};
}

// One troupe process: an actor system, the local bus and a running bridge
// named "br" with `endpoints`; more services are added with `add`.
class node {
public:
  node(int threads, config::table endpoints) : cfg_(threads), sys_(cfg_) {
    bus_ = guard_.add(spawn_topic_bus(sys_));
    br_ = guard_.add(spawn_service<bridge::bridge_service>(
      sys_, service_options{"br", "bridge", bus_}));
    auto s = ask<service_state>(
      sys_, br_, "bridge configure", configure_atom::value,
      settings{config::table{{"endpoints", std::move(endpoints)}}});
    expect_state("bridge configure", s, service_state::configured);
    s = ask<service_state>(sys_, br_, "bridge start", start_atom::value);
    expect_state("bridge start", s, service_state::running);
  }

  node(const node&) = delete;
  node& operator=(const node&) = delete;

  caf::actor_system& sys() { return sys_; }

  /// Spawns and starts a service on this node's bus.
  template <class Impl, class... Ts>
  typename Impl::interface add(const std::string& name, Ts&&... xs) {
    auto h = guard_.add(spawn_service<Impl>(
      sys_, service_options{name, "bench", bus_}, std::forward<Ts>(xs)...));
    auto s = ask<service_state>(sys_, h, name + " start", start_atom::value);
    expect_state(name + " start", s, service_state::running);
    return h;
  }

  /// The bridge's statistics of one endpoint.
  nlohmann::json endpoint_stats(const std::string& name) {
    auto all = nlohmann::json::parse(
      ask<std::string>(sys_, br_, "bridge stats", bridge::stats_atom::value));
    for (auto& ep : all["endpoints"])
      if (ep["name"] == name)
        return ep;
    throw std::runtime_error("the bridge has no endpoint '" + name + "'");
  }

  std::string address(const std::string& name) {
    return endpoint_stats(name)["address"];
  }

  /// Stops the bridge (closing its sockets) before the node goes.
  void stop_bridge() {
    ask<service_state>(sys_, br_, "bridge stop", stop_atom::value,
                       std::string{"bench done"}, caf::timespan{seconds{5}});
  }

private:
  bench_config cfg_;
  caf::actor_system sys_;
  exit_guard guard_;
  caf::actor bus_;
  bridge::bridge_service::interface br_;
};

// Feeds every envelope under `prefix` into `p`.
class tally_service : public service {
public:
  tally_service(std::string prefix, std::shared_ptr<rx_progress> p)
    : prefix_(std::move(prefix)), p_(std::move(p)) {}

  hook_result on_start() override {
    subscribe<bridge::envelope>(
      prefix_, [this](const std::string&, const bridge::envelope& e) {
        p_->on(e.payload.data(), e.payload.size());
      });
    return hook_result::success();
  }

private:
  std::string prefix_;
  std::shared_ptr<rx_progress> p_;
};

// Publishes envelopes with sequence numbers on `topic`: one warm-up message
// per warm_atom, `n` numbered ones per emit_atom. A burst goes out as
// batches of `batch_size` with at most `window` batches in flight: the next
// batch is published when the bus says one was taken (`publish_batch` with
// `on_taken`), so that the source goes at the pace of the bridge and ZMQ,
// as a raw sender blocks in `send`, instead of filling mailboxes.
class source_service : public service {
public:
  using interface = service_actor::extend<caf::reacts_to<emit_atom, uint64_t>,
                                          caf::reacts_to<warm_atom>>;

  static constexpr uint64_t batch_size = 256;
  static constexpr int window = 8;

  source_service(std::string topic, size_t size)
    : topic_(std::move(topic)), size_(size) {}

  auto handlers() {
    return std::make_tuple(
      [this](emit_atom, uint64_t n) {
        next_ = 0;
        end_ = n;
        for (int i = 0; i < window; ++i)
          emit_batch();
      },
      [this](warm_atom) {
        publish(topic_, bridge::envelope{
                          topic_, make_payload(size_, warm_seq), {}, {}});
      });
  }

private:
  void emit_batch() {
    if (next_ >= end_)
      return;
    bus_batch b;
    auto stop = std::min(end_, next_ + batch_size);
    b.items.reserve(stop - next_);
    for (; next_ < stop; ++next_)
      b.items.push_back(
        bus_item{topic_, caf::make_message(bridge::envelope{
                           topic_, make_payload(size_, next_), {}, {}})});
    publish_batch(std::move(b), [this] { emit_batch(); });
  }

  std::string topic_;
  size_t size_;
  uint64_t next_ = 0;
  uint64_t end_ = 0;
};

// -- throughput: the measuring side receives
// ---------------------------------------

flow_outcome raw_throughput(const flow& f) {
  temp_dir dir;
  zmq::context_t ctx{1};
  zmq::socket_t sock{ctx, f.pat == pattern::push_pull ? zmq::socket_type::pull
                                                      : zmq::socket_type::sub};
  sock.set(zmq::sockopt::rcvhwm, hwm);
  sock.set(zmq::sockopt::linger, 0);
  if (f.pat == pattern::pub_sub)
    sock.set(zmq::sockopt::subscribe, "bench.");
  sock.bind(bind_address(f.transport, dir, "in"));
  std::string addr = sock.get(zmq::sockopt::last_endpoint);
  peer_process peer{{"raw-send", to_string(f.pat), addr, std::to_string(f.size),
                     std::to_string(f.n)}};
  auto& ch = peer.channel();
  ch.expect("'ready'", ready_timeout);
  rx_progress p{f.n, f.size};
  zmq::message_t topic;
  zmq::message_t payload;
  std::vector<zmq::pollitem_t> items{{sock.handle(), 0, ZMQ_POLLIN, 0},
                                     {nullptr, ch.fd(), ZMQ_POLLIN, 0}};
  // Receives what is waiting, like the bridge's receiver thread: poll, then
  // a batch of non-blocking receives.
  step_fn step = [&](milliseconds timeout) {
    zmq::poll(items, timeout);
    for (int batch = 0; batch < 4096; ++batch) {
      if (!sock.recv(topic, zmq::recv_flags::dontwait))
        return;
      if (!topic.more() || !sock.recv(payload) || payload.more()) {
        p.fail("a message that is not exactly two frames");
        return;
      }
      p.on(payload.data(), payload.size());
    }
  };
  await_warm(p, ch, step);
  auto out = receive_flow(p, ch, step, f.pat, "raw");
  peer.finish();
  return out;
}

flow_outcome troupe_throughput(const run_options& opts, const flow& f) {
  temp_dir dir;
  auto in = endpoint({{"socket", f.pat == pattern::push_pull ? "pull" : "sub"},
                      {"bind", bind_address(f.transport, dir, "in")},
                      {"codec", "raw"}});
  if (f.pat == pattern::pub_sub)
    in["topics"] = config::list{"bench."};
  node nd{opts.threads, config::table{{"in", std::move(in)}}};
  auto p = std::make_shared<rx_progress>(f.n, f.size);
  nd.add<tally_service>("tally", "bench.", p);
  peer_process peer{{"troupe-send", to_string(f.pat), nd.address("in"),
                     std::to_string(f.size), std::to_string(f.n),
                     std::to_string(opts.threads)}};
  auto& ch = peer.channel();
  ch.expect("'ready'", ready_timeout);
  // The tally runs on CAF's threads; this thread only watches.
  step_fn step = [&](milliseconds timeout) {
    pollfd pfd{ch.fd(), POLLIN, 0};
    ::poll(&pfd, 1, static_cast<int>(timeout.count()));
  };
  await_warm(*p, ch, step);
  auto out = receive_flow(*p, ch, step, f.pat, "troupe");
  peer.finish();
  auto st = nd.endpoint_stats("in");
  expect_count("malformed messages at the receiving bridge", 0,
               st["malformed_total"].get<uint64_t>());
  nd.stop_bridge();
  return out;
}

// -- latency: the measuring side pings
// ---------------------------------------------

struct ping_plan {
  uint64_t warm = 0; // unrecorded round trips first
  uint64_t n = 0;    // recorded round trips
  size_t size = 16;
};

// Round trips in microseconds, in order.
using rtts = std::vector<double>;

double elapsed_us(steady_clock::time_point t0) {
  return std::chrono::duration<double, std::micro>(steady_clock::now() - t0)
    .count();
}

rtts raw_ping(const std::string& transport, const ping_plan& plan) {
  temp_dir dir;
  zmq::context_t ctx{1};
  zmq::socket_t out{ctx, zmq::socket_type::push};
  zmq::socket_t in{ctx, zmq::socket_type::pull};
  for (auto* s : {&out, &in}) {
    s->set(zmq::sockopt::linger, 0);
    // Short, so that a dead peer is noticed (see `recv` below).
    s->set(zmq::sockopt::rcvtimeo, 200);
    s->set(zmq::sockopt::sndtimeo, 10'000);
  }
  out.bind(bind_address(transport, dir, "ping"));
  in.bind(bind_address(transport, dir, "pong"));
  std::string out_addr = out.get(zmq::sockopt::last_endpoint);
  std::string in_addr = in.get(zmq::sockopt::last_endpoint);
  peer_process peer{{"raw-echo", out_addr, in_addr}};
  peer.channel().expect("'ready'", ready_timeout);
  rtts result;
  result.reserve(plan.n);
  auto payload = make_payload(plan.size, 0);
  zmq::message_t topic;
  zmq::message_t reply;
  auto& ch = peer.channel();
  // Receives one frame; between time-outs, checks that the peer still runs
  // (a closed channel throws), for up to 10 s.
  auto recv = [&](zmq::message_t& m) {
    for (int i = 0; i < 50; ++i) {
      if (in.recv(m))
        return true;
      if (auto line = ch.receive(milliseconds{0}))
        throw std::runtime_error("unexpected line from the peer: '" + *line +
                                 "'");
    }
    return false;
  };
  for (uint64_t i = 0; i < plan.warm + plan.n; ++i) {
    set_seq(payload, i);
    auto t0 = steady_clock::now();
    if (!out.send(zmq::buffer(ping_topic), zmq::send_flags::sndmore) ||
        !out.send(zmq::buffer(payload), zmq::send_flags::none))
      throw std::runtime_error("raw: ping " + std::to_string(i) +
                               " not sent within 10 s");
    if (!recv(topic) || !topic.more() || !recv(reply))
      throw std::runtime_error("raw: no pong " + std::to_string(i) +
                               " within 10 s");
    auto us = elapsed_us(t0);
    if (reply.more() || reply.size() != plan.size || get_seq(reply.data()) != i)
      throw std::runtime_error("raw: wrong pong to ping " + std::to_string(i));
    if (i >= plan.warm)
      result.push_back(us);
  }
  peer.finish();
  return result;
}

struct ping_progress : failure_note {
  std::atomic<uint64_t> answered{0};
  std::atomic<bool> finished{false};
};

// Publishes a ping, waits for the pong envelope, records, repeats.
class pinger_service : public service {
public:
  using interface = service_actor::extend<caf::reacts_to<go_atom>>;

  pinger_service(ping_plan plan, std::shared_ptr<rtts> out,
                 std::shared_ptr<ping_progress> done)
    : plan_(plan), out_(std::move(out)), done_(std::move(done)),
      payload_(make_payload(plan.size, 0)) {
    out_->reserve(plan.n);
  }

  auto handlers() {
    return std::make_tuple([this](go_atom) { ping(); });
  }

  hook_result on_start() override {
    subscribe<bridge::envelope>(
      "pong.",
      [this](const std::string&, const bridge::envelope& e) { pong(e); });
    return hook_result::success();
  }

private:
  void ping() {
    set_seq(payload_, i_);
    t0_ = steady_clock::now();
    publish(ping_topic, bridge::envelope{ping_topic, payload_, {}, {}});
  }

  void pong(const bridge::envelope& e) {
    auto us = elapsed_us(t0_);
    if (e.payload.size() != plan_.size || get_seq(e.payload.data()) != i_) {
      done_->fail("troupe: wrong pong to ping " + std::to_string(i_));
      return;
    }
    if (i_ >= plan_.warm)
      out_->push_back(us);
    done_->answered.store(++i_, std::memory_order_relaxed);
    if (i_ == plan_.warm + plan_.n)
      done_->finished.store(true, std::memory_order_release);
    else
      ping();
  }

  ping_plan plan_;
  std::shared_ptr<rtts> out_;
  std::shared_ptr<ping_progress> done_;
  std::string payload_;
  uint64_t i_ = 0;
  steady_clock::time_point t0_;
};

rtts troupe_ping(const run_options& opts, const std::string& transport,
                 const ping_plan& plan) {
  temp_dir dir;
  node nd{opts.threads,
          config::table{
            {"out", endpoint({{"socket", "push"},
                              {"bind", bind_address(transport, dir, "ping")},
                              {"codec", "raw"},
                              {"topics", config::list{"ping."}}})},
            {"in", endpoint({{"socket", "pull"},
                             {"bind", bind_address(transport, dir, "pong")},
                             {"codec", "raw"}})}}};
  auto out = std::make_shared<rtts>();
  auto done = std::make_shared<ping_progress>();
  auto pinger = nd.add<pinger_service>("pinger", plan, out, done);
  peer_process peer{{"troupe-echo", nd.address("out"), nd.address("in"),
                     std::to_string(opts.threads)}};
  auto& ch = peer.channel();
  ch.expect("'ready'", ready_timeout);
  caf::anon_send(pinger, go_atom::value);
  // The actors ping; this thread watches the peer, so that its death ends
  // the run at once (a closed channel throws).
  auto deadline = steady_clock::now() + flow_timeout;
  while (!done->finished.load(std::memory_order_acquire)) {
    pollfd pfd{ch.fd(), POLLIN, 0};
    ::poll(&pfd, 1, 5);
    if (auto line = ch.receive(milliseconds{0}))
      throw std::runtime_error("unexpected line from the peer: '" + *line +
                               "'");
    if (auto f = done->failure(); !f.empty())
      throw std::runtime_error(f);
    if (steady_clock::now() > deadline)
      throw std::runtime_error(
        "troupe ping-pong: timed out after " +
        std::to_string(flow_timeout.count()) + " s with " +
        std::to_string(done->answered.load()) + " of " +
        std::to_string(plan.warm + plan.n) + " round trips done");
  }
  peer.finish();
  nd.stop_bridge();
  expect_count("recorded round trips", plan.n, out->size());
  return std::move(*out);
}

// -- the peer roles (second process)
// -----------------------------------------------

// Waits for "quit" (or the parent closing the channel).
void await_quit(line_channel& ch) {
  for (;;) {
    std::optional<std::string> line;
    try {
      line = ch.receive(seconds{600});
    } catch (const std::runtime_error&) {
      return; // the parent went away: that is a quit too
    }
    if (line && *line == "quit")
      return;
    if (line)
      throw std::runtime_error("unexpected line '" + *line + "'");
  }
}

// Calls `warm` every 10 ms until the parent says "go".
void warm_until_go(line_channel& ch, const std::function<void()>& warm) {
  for (;;) {
    warm();
    if (auto line = ch.receive(milliseconds{10})) {
      if (*line == "go")
        return;
      throw std::runtime_error("expected 'go', got '" + *line + "'");
    }
  }
}

void raw_send(line_channel& ch, pattern pat, const std::string& addr,
              size_t size, uint64_t n) {
  zmq::context_t ctx{1};
  zmq::socket_t sock{ctx, pat == pattern::push_pull ? zmq::socket_type::push
                                                    : zmq::socket_type::pub};
  sock.set(zmq::sockopt::sndhwm, hwm);
  sock.set(zmq::sockopt::linger, 1000);
  if (pat == pattern::pub_sub)
    sock.set(zmq::sockopt::xpub_nodrop, 1); // block at the HWM, like the bridge
  sock.connect(addr);
  ch.send("ready");
  auto payload = make_payload(size, warm_seq);
  warm_until_go(ch, [&] {
    if (sock.send(zmq::buffer(data_topic),
                  zmq::send_flags::sndmore | zmq::send_flags::dontwait))
      (void)sock.send(zmq::buffer(payload), zmq::send_flags::none);
  });
  for (uint64_t i = 0; i < n; ++i) {
    set_seq(payload, i);
    // Blocking sends: wait at the high-water mark (PUB too, with NODROP).
    (void)sock.send(zmq::buffer(data_topic), zmq::send_flags::sndmore);
    (void)sock.send(zmq::buffer(payload), zmq::send_flags::none);
  }
  ch.send("done sent=" + std::to_string(n) + " dropped=0");
  await_quit(ch);
}

void troupe_send(line_channel& ch, pattern pat, const std::string& addr,
                 size_t size, uint64_t n, int threads) {
  node nd{
    threads,
    config::table{
      {"out", endpoint({{"socket", pat == pattern::push_pull ? "push" : "pub"},
                        {"connect", config::list{addr}},
                        {"codec", "raw"},
                        {"topics", config::list{"bench."}}})}}};
  auto src = nd.add<source_service>("source", data_topic, size);
  ch.send("ready");
  uint64_t warm = 0;
  warm_until_go(ch, [&] {
    caf::anon_send(src, warm_atom::value);
    ++warm;
  });
  caf::anon_send(src, emit_atom::value, n);
  // Report once the bridge handed everything to ZMQ (or dropped it).
  auto deadline = steady_clock::now() + flow_timeout;
  for (;;) {
    auto st = nd.endpoint_stats("out");
    auto sent = st["sent"].get<uint64_t>();
    auto dropped = st["dropped"].get<uint64_t>();
    auto lost = dropped + st["unencodable"].get<uint64_t>();
    if (sent + lost >= warm + n && st["queued"].get<uint64_t>() == 0) {
      ch.send("done sent=" + std::to_string(sent) +
              " dropped=" + std::to_string(lost));
      break;
    }
    if (steady_clock::now() > deadline)
      throw std::runtime_error("the bridge sent only " + std::to_string(sent) +
                               " of " + std::to_string(warm + n) + " messages");
    if (auto line = ch.receive(milliseconds{5})) {
      if (*line == "quit") {
        nd.stop_bridge();
        return; // the parent has all it needs
      }
      throw std::runtime_error("unexpected line '" + *line + "'");
    }
  }
  await_quit(ch);
  nd.stop_bridge();
}

void raw_echo(line_channel& ch, const std::string& ping_addr,
              const std::string& pong_addr) {
  zmq::context_t ctx{1};
  zmq::socket_t in{ctx, zmq::socket_type::pull};
  zmq::socket_t out{ctx, zmq::socket_type::push};
  in.set(zmq::sockopt::linger, 0);
  out.set(zmq::sockopt::linger, 1000);
  in.connect(ping_addr);
  out.connect(pong_addr);
  ch.send("ready");
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
        throw std::runtime_error("a ping that is not exactly two frames");
      (void)out.send(zmq::buffer(pong_topic), zmq::send_flags::sndmore);
      (void)out.send(payload, zmq::send_flags::none);
    }
  }
}

// Answers every ping envelope with a pong envelope carrying its payload.
class echo_service : public service {
public:
  hook_result on_start() override {
    subscribe<bridge::envelope>(
      "ping.", [this](const std::string&, const bridge::envelope& e) {
        publish(pong_topic, bridge::envelope{pong_topic, e.payload, {}, {}});
      });
    return hook_result::success();
  }
};

void troupe_echo(line_channel& ch, const std::string& ping_addr,
                 const std::string& pong_addr, int threads) {
  node nd{threads, config::table{
                     {"in", endpoint({{"socket", "pull"},
                                      {"connect", config::list{ping_addr}},
                                      {"codec", "raw"}})},
                     {"out", endpoint({{"socket", "push"},
                                       {"connect", config::list{pong_addr}},
                                       {"codec", "raw"},
                                       {"topics", config::list{"pong."}}})}}};
  nd.add<echo_service>("echo");
  ch.send("ready");
  await_quit(ch);
  nd.stop_bridge();
}

// -- scenarios
// -------------------------------------------------------------------------

uint64_t flow_messages(bool quick, size_t size) {
  if (size <= 16)
    return quick ? 50'000 : 400'000;
  if (size <= 256)
    return quick ? 30'000 : 200'000;
  return quick ? 10'000 : 50'000;
}

result throughput(const run_options& opts, const std::string& name,
                  const flow& f) {
  result r;
  r.name = name;
  r.unit = "msg/s";
  r.payload_bytes = f.size;
  r.lost = loss_count{};
  r.workload =
    std::to_string(f.n) + " two-frame messages [topic][" +
    std::to_string(f.size) + " B payload] over " + f.transport + ", " +
    (f.pat == pattern::push_pull ? "PUSH -> PULL" : "PUB -> SUB") +
    ", between two processes, timed from 'go' (sent once a warm-up message "
    "made it end to end) to the last arrival; troupe: "
    "a service publishes bridge::envelope (codec raw, bytes passed through) "
    "-> bus -> bridge -> ZMQ -> bridge -> bus -> subscribed service; raw: "
    "cppzmq blocking sends -> poll + non-blocking receives; hwm 10000, "
    "on_full block; PUB sockets (raw and bridge) set XPUB_NODROP";
  alternate(
    opts, r,
    [&] {
      auto o = raw_throughput(f);
      r.lost->raw += o.lost;
      return o.rate;
    },
    [&] {
      auto o = troupe_throughput(opts, f);
      r.lost->troupe += o.lost;
      return o.rate;
    });
  return r;
}

// One set of ping-pong runs gives all three percentiles; the scenarios for
// p50, p99 and p99.9 of one transport share it (computed by whichever runs
// first).
struct latency_set {
  std::vector<rtts> raw;
  std::vector<rtts> troupe;
};

const latency_set& latency_runs(const run_options& opts,
                                const std::string& transport) {
  static std::map<std::string, latency_set> cache;
  if (auto i = cache.find(transport); i != cache.end())
    return i->second;
  ping_plan plan{opts.quick ? 200u : 1'000u, opts.quick ? 5'000u : 20'000u, 16};
  latency_set set;
  result scratch;
  alternate(
    opts, scratch,
    [&] {
      set.raw.push_back(raw_ping(transport, plan));
      return 0.0;
    },
    [&] {
      set.troupe.push_back(troupe_ping(opts, transport, plan));
      return 0.0;
    });
  // The warm-up repetitions come first; keep the measured ones.
  auto skip = static_cast<ptrdiff_t>(opts.warmup);
  set.raw.erase(set.raw.begin(), set.raw.begin() + skip);
  set.troupe.erase(set.troupe.begin(), set.troupe.begin() + skip);
  return cache.emplace(transport, std::move(set)).first->second;
}

result latency(const run_options& opts, const std::string& name,
               const std::string& transport, double p) {
  auto& set = latency_runs(opts, transport);
  result r;
  r.name = name;
  r.unit = "us";
  r.higher_is_better = false;
  auto plan_n = set.raw.empty() ? 0 : set.raw.front().size();
  r.workload =
    std::to_string(plan_n) +
    " sequential round trips (after a warm-up) of a 16 B payload over " +
    transport +
    ", PUSH/PULL each way, between two processes; troupe: service publishes "
    "an envelope -> bridge -> ZMQ -> other process's bridge -> echo service "
    "publishes it back -> bridge -> ZMQ -> bridge -> pinger; raw: cppzmq "
    "blocking send/recv and an echo loop; the p50/p99/p99.9 scenarios of one "
    "transport share the same runs";
  for (auto xs : set.raw)
    r.raw.values.push_back(percentile(xs, p));
  for (auto xs : set.troupe)
    r.troupe.values.push_back(percentile(xs, p));
  return r;
}

} // namespace

std::vector<scenario> bridge_scenarios() {
  std::vector<scenario> out;
  for (auto pat : {pattern::push_pull, pattern::pub_sub})
    for (std::string tr : {"tcp", "ipc"})
      for (size_t size : {16, 256, 4096}) {
        auto name =
          "bridge." + to_string(pat) + "." + tr + "." + std::to_string(size);
        auto desc =
          std::string{"actor -> bridge "} +
          (pat == pattern::push_pull ? "PUSH -> PULL" : "PUB -> SUB") +
          " bridge -> actor, two processes over " + tr + ", " +
          std::to_string(size) + " B payload, vs raw cppzmq (msg/s, MB/s)";
        out.push_back({name, desc,
                       [=](const run_options& opts) {
                         flow f{pat, tr, size, flow_messages(opts.quick, size)};
                         return throughput(opts, name, f);
                       },
                       tr == "tcp" && size == 16});
      }
  for (std::string tr : {"tcp", "ipc"})
    for (auto& [sfx, pct] : {std::pair{"p50", 50.0}, std::pair{"p99", 99.0},
                             std::pair{"p99.9", 99.9}}) {
      std::string suffix = sfx; // structured bindings cannot be captured
      double p = pct;
      auto name = "bridge.latency." + tr;
      name += "." + suffix;
      auto desc = suffix + " round trip actor -> bridge -> ";
      desc += tr;
      desc += " -> bridge -> echo actor and back, two processes, vs raw ZMQ "
              "ping-pong (us)";
      out.push_back(
        {name, desc,
         [=](const run_options& opts) { return latency(opts, name, tr, p); },
         tr == "tcp"});
    }
  return out;
}

int peer_main(const std::vector<std::string>& argv) {
  auto role = argv.empty() ? std::string{} : argv.front();
  try {
    // Logs go to stderr, shared with the parent; only warnings.
    troupe::init_logging(spdlog::level::warn);
    line_channel ch{peer_channel_fd};
    auto arg = [&](size_t i) -> const std::string& {
      if (i >= argv.size())
        throw std::runtime_error("missing argument " + std::to_string(i));
      return argv[i];
    };
    auto num = [&](size_t i) { return std::stoull(arg(i)); };
    if (role == "raw-send")
      raw_send(ch, parse_pattern(arg(1)), arg(2), num(3), num(4));
    else if (role == "troupe-send")
      troupe_send(ch, parse_pattern(arg(1)), arg(2), num(3), num(4),
                  static_cast<int>(num(5)));
    else if (role == "raw-echo")
      raw_echo(ch, arg(1), arg(2));
    else if (role == "troupe-echo")
      troupe_echo(ch, arg(1), arg(2), static_cast<int>(num(3)));
    else
      throw std::runtime_error("unknown role");
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "troupe-bench --peer %s: %s\n", role.c_str(),
                 e.what());
    return 1;
  }
}

} // namespace troupe::bench
