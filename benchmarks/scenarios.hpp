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
};

/// The in-process scenarios: one actor system, no sockets
/// (scenario_local.cpp).
std::vector<scenario> local_scenarios();

/// Every scenario troupe-bench knows, in the order they run.
inline std::vector<scenario> all_scenarios() {
  return local_scenarios();
}

/// Returns the version of the CAF library troupe-bench was built against,
/// e.g. "0.17.6".
std::string caf_version();

} // namespace troupe::bench
