// bridge.slow_peer.pub: a PUB with two subscribers in this process, one
// that subscribed, took one warm-up message and then never reads again
// (stalled), and one that reads everything (live). The sender is a second
// process (bridge_peer.cpp) that binds the PUB: troupe's is a publisher
// service -> local bus -> bridge endpoint with default settings but the
// address (hwm 10000, on_full block, XPUB_NODROP, stall_timeout 1s); raw's
// is a cppzmq PUB with ZMQ's default semantics (a full subscriber's messages
// are dropped, the send never blocks), the same hwm.
//
// Figures: the live subscriber's msg/s from "go" to its last arrival, and
// beside it the sender's peak RSS (VmHWM), the live subscriber's longest
// wait between arrivals and the messages it missed. The bridge waits
// `stall_timeout` once the stalled subscriber's queues are full, then sends
// past it, so troupe's time includes about one stall_timeout per run: the
// ratio depends on how long the run is (see docs/benchmarks.md). Raw
// cppzmq's PUB never waits, but a live subscriber that falls behind loses
// messages too; troupe's must lose none (the run fails otherwise). No CAF
// here.

#include "scenarios.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "app_process.hpp"
#include "bridge_flow.hpp"
#include "peer_process.hpp"

namespace troupe::bench {

namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

constexpr size_t payload_size = 256;

struct slow_outcome {
  double rate = 0;
  uint64_t lost = 0;
  double rss_mb = 0;
  double gap_ms = 0;
};

slow_outcome slow_peer_once(const run_options& opts, bool troupe, uint64_t n) {
  auto side = std::string{troupe ? "troupe" : "raw"};
  std::vector<std::string> args{troupe ? "slow-pub-troupe" : "slow-pub-raw",
                                std::to_string(payload_size),
                                std::to_string(n)};
  if (troupe)
    args.push_back(std::to_string(opts.threads));
  peer_process peer{args};
  auto& ch = peer.channel();
  auto ready = ch.expect("'ready'", ready_timeout);
  if (ready.rfind("ready ", 0) != 0)
    throw std::runtime_error(side + ": unexpected line '" + ready + "'");
  auto addr = ready.substr(6);
  zmq::context_t ctx{1};
  zmq::socket_t stalled{ctx, zmq::socket_type::sub};
  zmq::socket_t live{ctx, zmq::socket_type::sub};
  for (auto* s : {&stalled, &live}) {
    s->set(zmq::sockopt::rcvhwm, hwm);
    s->set(zmq::sockopt::linger, 0);
    s->set(zmq::sockopt::subscribe, "bench.");
    s->connect(addr);
  }
  rx_progress p{n, payload_size};
  bool stalled_warm = false;
  bool going = false;
  uint64_t last_count = 0;
  int64_t last_progress_ns = 0;
  int64_t max_gap_ns = 0;
  zmq::message_t topic;
  zmq::message_t payload;
  std::vector<zmq::pollitem_t> items{{live.handle(), 0, ZMQ_POLLIN, 0},
                                     {nullptr, ch.fd(), ZMQ_POLLIN, 0}};
  step_fn step = [&](milliseconds timeout) {
    zmq::poll(items, timeout);
    // The stalled subscriber reads until its subscription is shown to
    // work, then never again.
    if (!stalled_warm && stalled.recv(topic, zmq::recv_flags::dontwait)) {
      if (!topic.more() || !stalled.recv(payload) || payload.more())
        p.fail("a message that is not exactly two frames");
      stalled_warm = true;
    }
    for (int batch = 0; batch < 4096; ++batch) {
      if (!live.recv(topic, zmq::recv_flags::dontwait))
        break;
      if (!topic.more() || !live.recv(payload) || payload.more()) {
        p.fail("a message that is not exactly two frames");
        break;
      }
      p.on(payload.data(), payload.size());
    }
    if (going) {
      auto got = p.received.load();
      auto now = now_ns();
      if (got != last_count) {
        max_gap_ns = std::max(max_gap_ns, now - last_progress_ns);
        last_progress_ns = now;
        last_count = got;
      }
    }
  };
  await_warm(p, ch, step);
  auto deadline = steady_clock::now() + warm_timeout;
  while (!stalled_warm) {
    step(milliseconds{2});
    if (steady_clock::now() > deadline)
      throw std::runtime_error(side + ": the stalled subscriber got no "
                                      "warm-up message");
  }
  going = true;
  last_progress_ns = now_ns();
  auto o = receive_flow(p, ch, step, pattern::pub_sub, side, true);
  slow_outcome out{o.rate, o.lost,
                   static_cast<double>(peak_rss_bytes(peer.pid())) / 1e6,
                   static_cast<double>(max_gap_ns) / 1e6};
  peer.finish();
  if (troupe && o.lost > 0)
    throw std::runtime_error(
      "troupe: the live subscriber missed " + std::to_string(o.lost) + " of " +
      std::to_string(n) +
      " messages (the bridge sends past only the full one)");
  return out;
}

result slow_peer_pub(const run_options& opts) {
  uint64_t n = opts.quick ? 100'000 : 1'000'000;
  result r;
  r.name = "bridge.slow_peer.pub";
  r.unit = "msg/s";
  r.payload_bytes = payload_size;
  r.lost = loss_count{};
  r.workload =
    std::to_string(n) + " two-frame messages [topic][" +
    std::to_string(payload_size) +
    " B payload] from a PUB that a second process binds, to two SUBs over "
    "tcp: one stalled (subscribed, took one warm-up message, never reads "
    "again), one live, timed from 'go' to the live one's last arrival; "
    "troupe: a service publishes one bridge::envelope per message "
    "(publish_batch, 256 per batch) -> bus -> bridge PUB endpoint with "
    "defaults (hwm 10000, on_full block, XPUB_NODROP, stall_timeout 1s); "
    "raw: cppzmq PUB, ZMQ's default semantics (drops for a full "
    "subscriber), blocking sends, hwm 10000; lost: what the live "
    "subscriber missed";
  side_figure rss{"sender peak RSS MB", {}, {}};
  side_figure gap{"live longest gap ms", {}, {}};
  auto run = [&](bool troupe) {
    auto o = slow_peer_once(opts, troupe, n);
    (troupe ? r.lost->troupe : r.lost->raw) += o.lost;
    (troupe ? rss.troupe : rss.raw).values.push_back(o.rss_mb);
    (troupe ? gap.troupe : gap.raw).values.push_back(o.gap_ms);
    return o.rate;
  };
  alternate(
    opts, r, [&] { return run(false); }, [&] { return run(true); });
  // The warm-up repetitions come first; keep the measured ones.
  for (auto* x : {&rss, &gap})
    for (auto* s : {&x->raw, &x->troupe})
      s->values.erase(s->values.begin(), s->values.begin() + opts.warmup);
  r.extras.push_back(std::move(rss));
  r.extras.push_back(std::move(gap));
  return r;
}

} // namespace

std::vector<scenario> slow_peer_scenarios() {
  return {{"bridge.slow_peer.pub",
           "PUB with one stalled and one live SUB: the live one's msg/s and "
           "the sender's peak RSS, bridge endpoint (defaults, stall_timeout "
           "1s) vs raw cppzmq PUB (ZMQ drops for the full SUB)",
           slow_peer_pub, true}};
}

} // namespace troupe::bench
