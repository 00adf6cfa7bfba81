#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "report.hpp"

namespace troupe::bench {

/// One benchmark: a name for the CLI and the table, what it measures, and a
/// function that measures troupe and its raw baseline alternately. A run
/// throws `std::runtime_error` when the measurement is not sound (lost or
/// reordered messages, an error answer, a timeout).
struct scenario {
  std::string name;
  std::string description;
  std::function<result(const run_options&)> run;
  /// Whether `--quick` without `--scenario` runs it. The two-process bridge
  /// scenarios keep only a representative subset in the quick run.
  bool quick = true;
};

/// The parts of a scenario that compares `raw(opts, n)` with
/// `troupe(opts, n)`, where `n` is `quick_n` under `--quick` and `full_n`
/// otherwise.
struct paired_spec {
  /// The scenario's name (CLI, table, JSON).
  std::string name;
  /// What it measures, for `--list`.
  std::string description;
  /// The unit of one measurement, e.g. "msg/s".
  std::string unit;
  /// Measures the raw baseline once.
  double (*raw)(const run_options& opts, uint64_t n) = nullptr;
  /// Measures troupe once.
  double (*troupe)(const run_options& opts, uint64_t n) = nullptr;
  /// `n` under `--quick`.
  uint64_t quick_n = 0;
  /// `n` otherwise.
  uint64_t full_n = 0;
  /// What one measurement does, after `n` (the JSON's `workload` is
  /// `n` followed by this).
  std::string workload;
  /// Whether a larger figure is better.
  bool higher_is_better = true;
};

/// Returns the scenario `spec` describes.
inline scenario paired(paired_spec spec) {
  auto name = spec.name;
  auto description = spec.description;
  return {std::move(name), std::move(description),
          [spec = std::move(spec)](const run_options& opts) {
            auto n = opts.quick ? spec.quick_n : spec.full_n;
            return compare(
              opts, spec.name, spec.unit, std::to_string(n) + spec.workload,
              [&] { return spec.raw(opts, n); },
              [&] { return spec.troupe(opts, n); }, spec.higher_is_better);
          }};
}

/// In-process 1 -> 1 messages and request / response (local_messages.cpp).
std::vector<scenario> message_scenarios();

/// In-process pipeline and fan-out over the local topic bus (local_bus.cpp).
std::vector<scenario> bus_scenarios();

/// In-process service lifecycles and their memory (local_lifecycle.cpp).
std::vector<scenario> lifecycle_scenarios();

/// The in-process scenarios: one actor system, no sockets.
inline std::vector<scenario> local_scenarios() {
  auto all = message_scenarios();
  for (auto* more : {&bus_scenarios, &lifecycle_scenarios})
    for (auto& s : more())
      all.push_back(std::move(s));
  return all;
}

/// The bridge between two processes over ZMQ (tcp, ipc) beside raw cppzmq
/// between two processes (bridge_scenarios.cpp).
std::vector<scenario> bridge_scenarios();

/// A PUB endpoint with a stalled subscriber beside a live one, vs a raw
/// cppzmq PUB with the same two (slow_peer.cpp).
std::vector<scenario> slow_peer_scenarios();

/// `troupe run apps/examples/echo.toml` as a forwarder between two
/// processes, vs a raw cppzmq forwarder (echo_forward.cpp).
std::vector<scenario> echo_scenarios();

/// app.N: N idle services in `troupe run` (start, drain, memory per
/// service) vs raw CAF spawning and ending N actors (app_scale.cpp).
std::vector<scenario> app_scale_scenarios();

/// replay: the bag `file` (troupe record) through a bridge PULL endpoint
/// vs a raw cppzmq PULL, from the same cppzmq sender (replay_bench.cpp).
/// Runs only with `troupe-bench --replay FILE`.
scenario replay_scenario(const std::string& file);

/// Every scenario troupe-bench knows, in the order they run.
inline std::vector<scenario> all_scenarios() {
  auto all = local_scenarios();
  for (auto* more : {&bridge_scenarios, &slow_peer_scenarios, &echo_scenarios,
                     &app_scale_scenarios})
    for (auto& s : more())
      all.push_back(std::move(s));
  return all;
}

class line_channel;

/// Runs the peer roles of echo.forward (`argv[0]`: echo-send, raw-forward)
/// on `ch`; returns false for any other role.
bool echo_peer(const std::vector<std::string>& argv, line_channel& ch);

/// The second process of the bridge scenarios: `troupe-bench --peer ROLE
/// ...`, started by the measuring process (see peer_process.hpp). `argv[0]`
/// is the role. Returns the exit code.
int peer_main(const std::vector<std::string>& argv);

/// Returns the version of the CAF library troupe-bench was built against,
/// e.g. "0.17.6".
std::string caf_version();

} // namespace troupe::bench
