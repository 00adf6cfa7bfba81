#pragma once

// One troupe process of the bridge scenarios: an actor system, the local bus
// and a running bridge (bridge_troupe.cpp on the measuring side,
// bridge_peer.cpp in the peer). Includes CAF and the bridge: only those two
// translation units include it.

#include <chrono>
#include <initializer_list>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "actor_setup.hpp"
#include "troupe/actors/ask.hpp"
#include "troupe/actors/atoms.hpp"
#include "troupe/actors/topic_bus.hpp"
#include "troupe/bridge/bridge_service.hpp"

namespace troupe::bench {

/// Asks a source for a burst of numbered messages.
using emit_atom = caf::atom_constant<caf::atom("bb_emit")>;
/// Asks a source for one warm-up message.
using warm_atom = caf::atom_constant<caf::atom("bb_warm")>;
/// Tells the pinger to start.
using go_atom = caf::atom_constant<caf::atom("bb_go")>;

/// troupe::ask with a 60 s limit that throws, naming `what`, on an error.
template <class T, class Handle, class... Ts>
T ask_or_throw(caf::actor_system& sys, const Handle& h, const std::string& what,
               Ts&&... xs) {
  auto out =
    troupe::ask<T>(sys, h, std::chrono::seconds{60}, std::forward<Ts>(xs)...);
  if (!out)
    throw std::runtime_error(what + " failed: " + sys.render(out.error()));
  return std::move(*out);
}

/// Throws, naming `what`, unless `got == want`.
inline void expect_state(const std::string& what, service_state got,
                         service_state want) {
  if (got != want)
    throw std::runtime_error(what + " answered state " + to_string(got) +
                             ", expected " + to_string(want));
}

/// A bridge endpoint's settings.
inline config::table
endpoint(std::initializer_list<config::table::value_type> kv) {
  return config::table{kv};
}

/// One troupe process: an actor system, the local bus and a running bridge
/// named "br" with `endpoints`; more services are added with `add`.
class node {
public:
  node(int threads, config::table endpoints) : cfg_(threads), sys_(cfg_) {
    bus_ = guard_.add(spawn_topic_bus(sys_));
    br_ = guard_.add(spawn_service<bridge::bridge_service>(
      sys_, service_options{"br", "bridge", bus_}));
    auto s = ask_or_throw<service_state>(
      sys_, br_, "bridge configure", configure_atom::value,
      settings{config::table{{"endpoints", std::move(endpoints)}}});
    expect_state("bridge configure", s, service_state::configured);
    s =
      ask_or_throw<service_state>(sys_, br_, "bridge start", start_atom::value);
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
    auto s =
      ask_or_throw<service_state>(sys_, h, name + " start", start_atom::value);
    expect_state(name + " start", s, service_state::running);
    return h;
  }

  /// The bridge's statistics of one endpoint.
  nlohmann::json endpoint_stats(const std::string& name) {
    auto all = nlohmann::json::parse(ask_or_throw<std::string>(
      sys_, br_, "bridge stats", bridge::stats_atom::value));
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
    ask_or_throw<service_state>(sys_, br_, "bridge stop", stop_atom::value,
                                std::string{"bench done"},
                                caf::timespan{std::chrono::seconds{5}});
  }

private:
  bench_config cfg_;
  caf::actor_system sys_;
  exit_guard guard_;
  bus_actor bus_;
  bridge::bridge_service::interface br_;
};

} // namespace troupe::bench
