#pragma once

#include <functional>
#include <string>
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

/// The in-process scenarios: one actor system, no sockets
/// (scenario_local.cpp).
std::vector<scenario> local_scenarios();

/// The bridge between two processes over ZMQ (tcp, ipc) beside raw cppzmq
/// between two processes (scenario_bridge.cpp).
std::vector<scenario> bridge_scenarios();

/// Every scenario troupe-bench knows, in the order they run.
inline std::vector<scenario> all_scenarios() {
  auto all = local_scenarios();
  for (auto& s : bridge_scenarios())
    all.push_back(std::move(s));
  return all;
}

/// The second process of the bridge scenarios: `troupe-bench --peer ROLE
/// ...`, started by the measuring process (see peer_process.hpp). `argv[0]`
/// is the role. Returns the exit code.
int peer_main(const std::vector<std::string>& argv);

/// Returns the version of the CAF library troupe-bench was built against,
/// e.g. "0.17.6".
std::string caf_version();

} // namespace troupe::bench
