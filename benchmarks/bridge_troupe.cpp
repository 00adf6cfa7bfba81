// Bridge scenarios, troupe's measuring side: a node whose bridge receives a
// flow into a tally service, or whose pinger service pings an echo service,
// with the peer node in a second process (bridge_peer.cpp). The path is
// actor -> local bus -> bridge -> ZMQ -> bridge -> local bus -> actor.

#include "bridge_flow.hpp"

#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

#include <poll.h>

#include "bridge_node.hpp"
#include "measure.hpp"
#include "peer_process.hpp"

namespace troupe::bench {

namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

// Feeds every envelope under `prefix` into `p`: one envelope per call, as a
// service written message by message does (whether the bridge publishes
// envelopes or, with batch = true, batches that the host hands over one
// envelope at a time), or whole batches (`bulk`).
class tally_service : public service {
public:
  tally_service(std::string prefix, std::shared_ptr<rx_progress> p, bool bulk)
    : prefix_(std::move(prefix)), p_(std::move(p)), bulk_(bulk) {}

  hook_result on_start() override {
    if (bulk_)
      subscribe<bridge::envelope_batch>(
        prefix_, [this](const std::string&, const bridge::envelope_batch& b) {
          for (size_t i = 0; i < b.size(); ++i)
            p_->on(b[i].data(), b[i].size());
        });
    else
      subscribe<bridge::envelope>(
        prefix_, [this](const std::string&, const bridge::envelope& e) {
          p_->on(e.payload.data(), e.payload.size());
        });
    return hook_result::success();
  }

private:
  std::string prefix_;
  std::shared_ptr<rx_progress> p_;
  bool bulk_;
};

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

} // namespace

flow_outcome troupe_throughput(const run_options& opts, const flow& f) {
  temp_dir dir;
  auto in = endpoint({{"socket", f.pat == pattern::push_pull ? "pull" : "sub"},
                      {"bind", bind_address(f.transport, dir, "in")},
                      {"codec", "raw"},
                      {"batch", f.bulk || f.batched_in}});
  if (f.pat == pattern::pub_sub)
    in["topics"] = config::list{"bench."};
  node nd{opts.threads, config::table{{"in", std::move(in)}}};
  auto p = std::make_shared<rx_progress>(f.n, f.size);
  nd.add<tally_service>("tally", "bench.", p, f.bulk);
  peer_process peer{{"troupe-send", to_string(f.pat), nd.address("in"),
                     std::to_string(f.size), std::to_string(f.n),
                     std::to_string(opts.threads), f.bulk ? "bulk" : "single"}};
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

} // namespace troupe::bench
