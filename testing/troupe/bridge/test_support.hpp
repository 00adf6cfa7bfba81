#pragma once

// Helpers for the bridge's tests: a bridge's stats of one endpoint, and
// polling them until a condition holds (bounded, no timing assertion).

#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>

#include <caf/scoped_actor.hpp>
#include <nlohmann/json.hpp>

#include "troupe/bridge/bridge_service.hpp"

namespace troupe::bridge::test_support {

/// Asks `br` (as `self`) for its stats and returns those of endpoint
/// `name`; throws when it has no such endpoint.
inline nlohmann::json endpoint_stats(caf::scoped_actor& self,
                                     const bridge_service::interface& br,
                                     const std::string& name) {
  std::string out;
  self->request(br, std::chrono::seconds{5}, stats_atom::value)
    .receive([&](const std::string& s) { out = s; }, [](const caf::error&) {});
  auto all = nlohmann::json::parse(out);
  for (auto& e : all["endpoints"])
    if (e["name"] == name)
      return e;
  throw std::runtime_error("no endpoint " + name + " in " + out);
}

/// Polls the stats of endpoint `name` until `pred(stats)` holds, for 5 s at
/// most; returns the last stats either way, for the test to check.
template <class Pred>
nlohmann::json wait_stats(caf::scoped_actor& self,
                          const bridge_service::interface& br,
                          const std::string& name, Pred pred) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{5};
  for (;;) {
    auto s = endpoint_stats(self, br, name);
    if (pred(s) || std::chrono::steady_clock::now() > deadline)
      return s;
    std::this_thread::sleep_for(std::chrono::milliseconds{1});
  }
}

/// How many messages a bus delivery carries: an envelope batch (what inbound
/// endpoints publish by default) counts its items, anything else one.
inline size_t items(const caf::message& msg) {
  return msg.size() == 1 && msg.match_element<envelope_batch>(0)
           ? msg.get_as<envelope_batch>(0).size()
           : 1;
}

} // namespace troupe::bridge::test_support
