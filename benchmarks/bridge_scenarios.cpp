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
// This file is the scenario table; the measurements are in bridge_raw.cpp
// and bridge_troupe.cpp, the peer in bridge_peer.cpp, what they share in
// bridge_flow.hpp. No CAF here.

#include "scenarios.hpp"

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "bridge_flow.hpp"
#include "measure.hpp"

namespace troupe::bench {

namespace {

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
    "a service publishes " +
    std::string{
      f.bulk ? "bridge::envelope_batch (256 payloads each; the receiving "
               "endpoint has batch = true and publishes one batch per topic "
               "run it read, which the receiver takes as batches)"
      : f.batched_in
        ? "one bridge::envelope per message (the receiving endpoint has the "
          "default batch = true: one envelope_batch per topic run it read, "
          "handed to the receiver's subscribe<envelope> handler one envelope "
          "at a time)"
        : "one bridge::envelope per message (the receiving endpoint has "
          "batch = false: one envelope per message all the way)"} +
    " (codec raw, bytes passed through) "
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
      for (size_t size : {16, 256, 4096})
        for (auto [sfx, bulk, batched_in] :
             {std::tuple{"", false, true}, std::tuple{".bulk", true, true},
              std::tuple{".unbatched", false, false}}) {
          auto name = "bridge." + to_string(pat) + "." + tr + "." +
                      std::to_string(size) + sfx;
          auto desc =
            std::string{"actor -> bridge "} +
            (pat == pattern::push_pull ? "PUSH -> PULL" : "PUB -> SUB") +
            " bridge -> actor, two processes over " + tr + ", " +
            std::to_string(size) + " B payload" +
            (bulk         ? ", envelope_batch both ends"
             : batched_in ? ", one envelope per message (receiving endpoint "
                            "with the default batch = true)"
                          : ", one envelope per message (batch = false)") +
            ", vs raw cppzmq (msg/s, MB/s)";
          out.push_back(
            {name, desc,
             [=, bulk = bulk,
              batched_in = batched_in](const run_options& opts) {
               flow f{pat,  tr,        size, flow_messages(opts.quick, size),
                      bulk, batched_in};
               return throughput(opts, name, f);
             },
             // The unbatched variant is a comparison, not in the quick run.
             tr == "tcp" && size == 16 && (bulk || batched_in)});
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

} // namespace troupe::bench
