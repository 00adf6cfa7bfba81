#pragma once

// A blocking request, for code that is not an actor. Kept out of the other
// headers: <caf/scoped_actor.hpp> is heavy.

#include <cstddef>
#include <deque>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/expected.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/timespan.hpp>

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

/// Sends the same request `(xs...)` to every handle of `hs` and waits for
/// all answers: `ask` for many actors, from one scoped actor, with at most
/// 256 requests in flight at a time (CAF 0.17 searches an actor's pending
/// requests linearly, so 100,000 at once would cost N^2). Returns each
/// answer or error in the order of `hs`; each request times out after
/// `timeout` on its own. The same rules as `ask`: not inside an actor.
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
  std::vector<caf::expected<T>> out;
  out.reserve(hs.size());
  for (size_t i = 0; i < hs.size(); ++i)
    out.emplace_back(caf::make_error(caf::sec::request_timeout));
  caf::scoped_actor self{sys};
  using pending_request = decltype(self->request(caf::actor{}, timeout, xs...));
  std::deque<std::pair<size_t, pending_request>> pending;
  auto take_oldest = [&] {
    auto& [i, rh] = pending.front();
    rh.receive([&out, i = i](T& x) { out[i] = std::move(x); },
               [&out, i = i](caf::error& err) { out[i] = std::move(err); });
    pending.pop_front();
  };
  for (size_t i = 0; i < hs.size(); ++i) {
    if (!hs[i]) {
      out[i] = make_error(errc::not_running, "no actor");
      continue;
    }
    if (pending.size() == window)
      take_oldest();
    pending.emplace_back(
      i, self->request(caf::actor_cast<caf::actor>(hs[i]), timeout, xs...));
  }
  while (!pending.empty())
    take_oldest();
  return out;
}

} // namespace troupe
