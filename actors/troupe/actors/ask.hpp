#pragma once

// A blocking request, for code that is not an actor. Kept out of the other
// headers: <caf/scoped_actor.hpp> is heavy.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/atom.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/expected.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/timespan.hpp>

#include "troupe/actors/detail/weak_timer.hpp"
#include "troupe/actors/errc.hpp"

namespace troupe {

/// Sends `(xs...)` as a request to `hdl` from a new scoped actor and waits
/// up to `timeout` for the answer: for a thread that is not an actor (a
/// `main`, an HTTP handler, a test, a benchmark). Returns the answer, a
/// single value of type `T`, or the error: the one the actor answered,
/// `caf::sec::request_timeout` after `timeout`, or `errc::not_running` for
/// an empty handle. Each call has its own scoped actor, so several threads
/// may ask at once. Never call it inside an actor's handler: it blocks that
/// worker thread while it waits.
///
/// ```
/// auto st = troupe::ask<troupe::service_status>(
///   sys, svc, std::chrono::seconds{5}, troupe::status_atom::value);
/// if (st)
///   std::cout << to_string(st->state) << '\n';
/// ```
///
/// With several types, the answer is a tuple of them:
/// `ask<uint64_t, uint64_t>(...)` gives `caf::expected<std::tuple<uint64_t,
/// uint64_t>>`.
template <class T, class... Ts, class Handle, class... Args>
auto ask(caf::actor_system& sys, const Handle& hdl, caf::timespan timeout,
         Args&&... xs)
  -> caf::expected<
    std::conditional_t<sizeof...(Ts) == 0, T, std::tuple<T, Ts...>>> {
  using result_type =
    std::conditional_t<sizeof...(Ts) == 0, T, std::tuple<T, Ts...>>;
  if (!hdl)
    return make_error(errc::not_running, "no actor");
  caf::scoped_actor self{sys};
  caf::expected<result_type> result{caf::make_error(caf::sec::request_timeout)};
  self
    ->request(caf::actor_cast<caf::actor>(hdl), timeout,
              std::forward<Args>(xs)...)
    .receive(
      [&](T& x, Ts&... ys) {
        if constexpr (sizeof...(Ts) == 0)
          result = std::move(x);
        else
          result = result_type{std::move(x), std::move(ys)...};
      },
      [&](caf::error& err) { result = std::move(err); });
  return result;
}

namespace detail {

using ask_next_atom = caf::atom_constant<caf::atom("ask_next")>;
using ask_deadline_atom = caf::atom_constant<caf::atom("ask_dline")>;

} // namespace detail

/// Sends the same request `(xs...)` to every handle of `hs` and waits for
/// all answers, at most `timeout` in all: `ask` for many actors. Requests
/// go out from one event-based actor, at most 256 in flight at a time
/// (CAF 0.17 searches an actor's pending requests linearly, so 100,000 at
/// once would cost N^2). One timer ends the round at the deadline: the
/// requests carry no CAF timeout (CAF 0.17 would keep one clock entry per
/// request until it fires, answered or not), and once the deadline has
/// passed, the ones not yet sent are not sent. Returns each answer
/// or error in the order of `hs`: `caf::sec::request_timeout` for those
/// late or never sent, `errc::not_running` for an empty handle. The same
/// rules as `ask`: not inside an actor.
///
/// ```
/// auto sts = troupe::ask_all<troupe::service_status>(
///   sys, services, std::chrono::seconds{5}, troupe::status_atom::value);
/// ```
template <class T, class Handle, class... Args>
std::vector<caf::expected<T>>
ask_all(caf::actor_system& sys, const std::vector<Handle>& hs,
        caf::timespan timeout, const Args&... xs) {
  constexpr size_t window = 256;
  struct shared {
    std::vector<caf::actor> targets;
    std::vector<caf::expected<T>> out;
    size_t next = 0;
    size_t settled = 0;
    std::mutex mtx;
    std::condition_variable cv;
    bool done = false;
  };
  auto st = std::make_shared<shared>();
  st->targets.reserve(hs.size());
  st->out.reserve(hs.size());
  for (auto& h : hs) {
    st->targets.push_back(caf::actor_cast<caf::actor>(h));
    st->out.emplace_back(caf::make_error(caf::sec::request_timeout));
  }
  if (hs.empty())
    return {};
  using clock = std::chrono::steady_clock;
  auto now = clock::now();
  auto deadline = timeout >= clock::time_point::max() - now
                    ? clock::time_point::max()
                    : now + timeout;
  // The answers are written by the actor only, and read here once it said
  // done under the mutex.
  sys.spawn([st, deadline, xs...](caf::event_based_actor* self) {
    // However it ends (also killed, or a handler threw), the caller wakes;
    // what did not answer stays request_timeout.
    self->attach_functor([st](const caf::error&) {
      {
        std::lock_guard<std::mutex> guard{st->mtx};
        st->done = true;
      }
      st->cv.notify_all();
    });
    for (size_t k = 0; k < window && k < st->targets.size(); ++k)
      self->send(self, detail::ask_next_atom::value);
    // Weak: the round may end long before its deadline.
    if (deadline != clock::time_point::max())
      detail::send_later(self->system(),
                         caf::actor_cast<caf::strong_actor_ptr>(self),
                         deadline - clock::now(),
                         caf::make_message(detail::ask_deadline_atom::value));
    return caf::behavior{
      // The answers not in by now stay request_timeout; their handlers go
      // with this actor.
      [self](detail::ask_deadline_atom) { self->quit(); },
      [=](detail::ask_next_atom) {
        if (st->next >= st->targets.size())
          return;
        auto i = st->next++;
        auto settle = [self, st] {
          if (++st->settled < st->targets.size()) {
            self->send(self, detail::ask_next_atom::value);
            return;
          }
          self->quit(); // wakes the caller (attach_functor above)
        };
        auto left = deadline - clock::now();
        if (!st->targets[i]) {
          st->out[i] = make_error(errc::not_running, "no actor");
          settle();
          return;
        }
        if (left <= caf::timespan{0}) { // too late to ask: request_timeout
          settle();
          return;
        }
        self->request(st->targets[i], caf::infinite, xs...)
          .then(
            [st, i, settle](T& x) {
              st->out[i] = std::move(x);
              settle();
            },
            [st, i, settle](caf::error& err) {
              st->out[i] = std::move(err);
              settle();
            });
      }};
  });
  std::unique_lock<std::mutex> guard{st->mtx};
  st->cv.wait(guard, [&] { return st->done; });
  return std::move(st->out);
}

} // namespace troupe
