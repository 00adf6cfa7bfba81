#pragma once

// Actor-system set-up shared by the scenarios that run actors (the local
// ones and the bridge's nodes). Includes CAF: only for translation units that
// spawn actors anyway; the rest use measure.hpp and report.hpp.

#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>

#include "measure.hpp"
#include "troupe/actors/init.hpp"
#include "troupe/actors/service_host.hpp"

namespace troupe::bench {

/// troupe's actor system configuration with `threads` scheduler workers
/// (0 keeps CAF's default).
struct bench_config : caf::actor_system_config {
  explicit bench_config(int threads) {
    init_actor_system_config(*this);
    if (threads > 0)
      set("scheduler.max-threads", threads);
  }
};

/// Sends an exit to every actor it holds when leaving scope. Declared after
/// the actor system, it runs before the system's destructor, which waits for
/// every actor: a measurement that throws half-way still ends cleanly.
class exit_guard {
public:
  exit_guard() = default;
  exit_guard(const exit_guard&) = delete;
  exit_guard& operator=(const exit_guard&) = delete;

  ~exit_guard() {
    for (auto& h : actors_)
      caf::anon_send_exit(h, caf::exit_reason::user_shutdown);
  }

  /// Holds `h` until the guard goes and returns it.
  template <class Handle>
  Handle add(Handle h) {
    actors_.push_back(caf::actor_cast<caf::actor>(h));
    return h;
  }

  /// Makes room for `n` actors.
  void reserve(size_t n) { actors_.reserve(n); }

private:
  std::vector<caf::actor> actors_;
};

/// Runs `f(sys, guard)` in a fresh actor system with `threads` workers and
/// returns its result, so that no measurement inherits another's mailboxes,
/// threads or heap. Every actor added to `guard` gets an exit before the
/// system waits for them.
template <class F>
auto in_fresh_system(int threads, F&& f) {
  bench_config cfg{threads};
  caf::actor_system sys{cfg};
  exit_guard guard;
  return std::forward<F>(f)(sys, guard);
}

/// Sends the same request to every handle, 256 in flight at a time (from
/// one event-based actor, so answers are not serialized behind each other),
/// and returns the answers in the order of `hs`. Throws on an error answer
/// or when answers are late. The window is what troupe's supervisor keeps
/// too: CAF 0.17 searches an actor's pending requests linearly, so 100,000
/// at once would cost N^2 on both sides of a comparison.
template <class T, class Handle, class... Ts>
std::vector<T> ask_all(caf::actor_system& sys, const std::vector<Handle>& hs,
                       const std::string& what, Ts... xs) {
  constexpr size_t window = 256;
  auto out = std::make_shared<std::vector<T>>(hs.size());
  auto done = std::make_shared<countdown>(hs.size());
  if (hs.empty())
    return {};
  // Lives exactly as long as answers are pending: asks the next one (by a
  // message to itself) for each answer.
  using ask_next = caf::atom_constant<caf::atom("ask_next")>;
  auto targets = std::make_shared<const std::vector<Handle>>(hs);
  sys.spawn([targets, out, done, xs...](caf::event_based_actor* self) {
    auto next = std::make_shared<size_t>(0);
    auto left = std::make_shared<size_t>(targets->size());
    for (size_t k = 0; k < window && k < targets->size(); ++k)
      self->send(self, ask_next::value);
    return caf::behavior{[=](ask_next) {
      if (*next >= targets->size())
        return; // asked for by an answer while the last asks were queued
      auto i = (*next)++;
      self->request((*targets)[i], caf::infinite, xs...)
        .then(
          [self, out, done, left, i](T& x) {
            (*out)[i] = std::move(x);
            done->arrive();
            if (--*left == 0)
              self->quit();
            else
              self->send(self, ask_next::value);
          },
          [self, done](caf::error& err) {
            done->abort(self->system().render(err));
            self->quit();
          });
    }};
  });
  done->wait(what);
  return std::move(*out);
}

/// Starts every service and checks that each one is running.
template <class Handle>
void start_all(caf::actor_system& sys, const std::vector<Handle>& hs) {
  for (auto s : ask_all<service_state>(sys, hs, "start", start_atom::value))
    if (s != service_state::running)
      throw std::runtime_error("start answered state " + to_string(s));
}

/// Options of a benchmark service named `name` (type "bench") on `bus`.
inline service_options bench_options(std::string name, bus_actor bus = {}) {
  return service_options{std::move(name), "bench", std::move(bus)};
}

} // namespace troupe::bench
