// Calls from local services to ZMQ peers through req and dealer endpoints
// (see call.hpp): the bridge actor's side. The receiver thread sends the
// frames and hands the replies back (detail/receiver.cpp).

#include <algorithm>

#include <caf/mailbox_element.hpp>
#include <caf/scheduled_actor.hpp>
#include <spdlog/logger.h>

#include "troupe/actors/errc.hpp"
#include "troupe/bridge/bridge_service.hpp"
#include "troupe/bridge/detail/bridge_runtime.hpp"
#include "troupe/bridge/wire.hpp"

namespace troupe::bridge {

using detail::call_drop;
using detail::endpoint_runtime;

namespace {

// Calls handed to the socket and not answered yet, at most: a REQ socket
// has one request in flight; a DEALER as many as its high-water mark.
size_t in_flight_limit(const endpoint_runtime& ep) {
  return ep.cfg.socket == socket_kind::req ? 1
                                           : static_cast<size_t>(ep.cfg.hwm);
}

} // namespace

void bridge_service::answer_call(const call_request& c, caf::message m) {
  if (c.reply_to)
    c.reply_to->enqueue(
      caf::make_mailbox_element(self()->ctrl(), c.id, {}, std::move(m)),
      self()->context());
}

bool bridge_service::on_call(const std::string& topic,
                             const caf::message& msg) {
  if (msg.size() != 1 || !msg.match_element<call_request>(0))
    return false;
  auto& c = msg.get_as<call_request>(0);
  auto& cs = *calls_;
  auto ep_name = std::string_view{topic}.substr(call_prefix(name()).size());
  endpoint_runtime* ep = nullptr;
  for (auto& x : *cs.eps)
    if (x->cfg.name == ep_name)
      ep = x.get();
  if (ep == nullptr || !is_call(ep->cfg.socket)) {
    auto err =
      ep == nullptr
        ? make_error(errc::unknown_child, "bridge '" + name() +
                                            "' has no endpoint '" +
                                            std::string{ep_name} + "'")
        : make_error(errc::type_mismatch,
                     "endpoint '" + ep->cfg.name + "' of bridge '" + name() +
                       "' is a " + std::string{to_string(ep->cfg.socket)} +
                       " endpoint: calls go through req or dealer endpoints");
    answer_call(c, caf::make_message(std::move(err)));
    return true;
  }
  ++ep->counters.calls;
  auto id = ++cs.next_id;
  auto timeout = ep->cfg.timeout;
  if (c.timeout > std::chrono::nanoseconds::zero())
    timeout = std::min(timeout, c.timeout);
  auto& p = cs.pending[id];
  p.req = c;
  p.ep = ep;
  p.deadline = std::chrono::steady_clock::now() + timeout;
  p.timer = after(timeout, [this, id] { expire_call(id); });
  if (ep->counters.calls_in_flight < in_flight_limit(*ep)) {
    send_call(id);
    return true;
  }
  if (ep->actor.calls_waiting.size() >= static_cast<size_t>(ep->cfg.hwm)) {
    switch (ep->cfg.on_full) {
    case full_policy::drop_newest:
      drop_call(id, call_drop::queue_full);
      return true;
    case full_policy::drop_oldest: {
      auto oldest = ep->actor.calls_waiting.front();
      ep->actor.calls_waiting.pop_front();
      ep->counters.calls_waiting_n = ep->actor.calls_waiting.size();
      drop_call(oldest, call_drop::queue_full);
      break;
    }
    case full_policy::block:
      break; // every waiting call still ends by its deadline
    }
  }
  ep->actor.calls_waiting.push_back(id);
  ep->counters.calls_waiting_n = ep->actor.calls_waiting.size();
  return true;
}

void bridge_service::send_call(uint64_t id) {
  auto& cs = *calls_;
  auto& p = cs.pending.at(id);
  auto& ep = *p.ep;
  auto& e = p.req.message;
  multipart frames;
  // DEALER: a REP peer returns everything up to the empty delimiter with
  // its reply, so the id comes back and matches the reply to its call.
  if (ep.cfg.socket == socket_kind::dealer)
    frames = {std::to_string(id), std::string{}, e.topic, e.payload};
  else
    frames = {e.topic, e.payload};
  {
    std::lock_guard<std::mutex> guard{cs.out.mtx};
    cs.out.items.push_back({&ep, id, std::move(frames), p.deadline});
  }
  cs.net->wake();
  p.sent = true;
  ++ep.counters.calls_in_flight;
  ep.counters.sent.fetch_add(1, std::memory_order_relaxed);
  count_out();
}

void bridge_service::pump_calls(endpoint_runtime& ep) {
  while (ep.counters.calls_in_flight < in_flight_limit(ep) &&
         !ep.actor.calls_waiting.empty()) {
    auto id = ep.actor.calls_waiting.front();
    ep.actor.calls_waiting.pop_front();
    ep.counters.calls_waiting_n = ep.actor.calls_waiting.size();
    send_call(id);
  }
}

void bridge_service::drop_call(uint64_t id, size_t reason) {
  auto& cs = *calls_;
  auto i = cs.pending.find(id);
  if (i == cs.pending.end())
    return;
  auto& ep = *i->second.ep;
  ++ep.counters.call_dropped[reason];
  ep.counters.dropped.fetch_add(1, std::memory_order_relaxed);
  cancel(i->second.timer);
  std::string why;
  if (reason == call_drop::queue_full)
    why = "endpoint '" + ep.cfg.name + "': " + std::to_string(ep.cfg.hwm) +
          " calls already wait (on_full = " +
          std::string{to_string(ep.cfg.on_full)} + "); dropped unsent";
  else
    why = "endpoint '" + ep.cfg.name +
          "': its turn did not come before its deadline; dropped unsent";
  auto req = std::move(i->second.req);
  cs.pending.erase(i);
  answer_call(req, caf::make_message(make_error(errc::timeout, why)));
}

void bridge_service::expire_call(uint64_t id) {
  auto& cs = *calls_;
  auto i = cs.pending.find(id);
  if (i == cs.pending.end())
    return;
  auto& ep = *i->second.ep;
  if (!i->second.sent) {
    auto& w = ep.actor.calls_waiting;
    w.erase(std::remove(w.begin(), w.end(), id), w.end());
    ep.counters.calls_waiting_n = w.size();
    drop_call(id, call_drop::expired);
    return;
  }
  ep.counters.timeouts.fetch_add(1, std::memory_order_relaxed);
  --ep.counters.calls_in_flight;
  auto req = std::move(i->second.req);
  cs.pending.erase(i);
  if (auto s = cs.limiter.admit(0); s >= 0)
    log().warn("endpoint '{}': no reply to a call on '{}' in time", ep.cfg.name,
               req.message.topic);
  answer_call(req, caf::make_message(make_error(
                     errc::timeout, "endpoint '" + ep.cfg.name +
                                      "': no reply from the peer in time")));
  pump_calls(ep);
}

void bridge_service::on_call_reply(uint64_t endpoint, uint64_t id,
                                   envelope& e) {
  auto& cs = *calls_;
  if (endpoint >= cs.eps->size())
    return;
  auto& ep = *(*cs.eps)[endpoint];
  if (id == 0 && e.topic == heartbeat_topic) {
    // The answer to our heartbeat (heartbeat = true; calls count from 1):
    // the server is alive.
    on_heartbeat(e, endpoint);
    return;
  }
  auto i = cs.pending.find(id);
  if (i == cs.pending.end() || !i->second.sent || i->second.ep != &ep) {
    // Its call timed out (the caller has its error), or a peer made it up.
    ++ep.counters.call_dropped[call_drop::late_reply];
    ep.counters.dropped.fetch_add(1, std::memory_order_relaxed);
    if (auto s = cs.limiter.admit(1); s >= 0)
      log().warn("endpoint '{}': dropped a late or unmatched reply on '{}'",
                 ep.cfg.name, e.topic);
    return;
  }
  ++ep.counters.replies;
  --ep.counters.calls_in_flight;
  cancel(i->second.timer);
  auto req = std::move(i->second.req);
  cs.pending.erase(i);
  answer_call(req, caf::make_message(std::move(e)));
  pump_calls(ep);
}

void bridge_service::end_calls() {
  auto& cs = *calls_;
  for (auto& [id, p] : cs.pending) {
    if (p.sent)
      ++p.ep->counters.failures;
    else {
      ++p.ep->counters.call_dropped[call_drop::stopped];
      p.ep->counters.dropped.fetch_add(1, std::memory_order_relaxed);
    }
    answer_call(p.req, caf::make_message(make_error(
                         errc::not_running,
                         "bridge '" + name() + "' stopped before the reply")));
  }
  cs.pending.clear();
  if (cs.eps != nullptr)
    for (auto& ep : *cs.eps) {
      ep->actor.calls_waiting.clear();
      ep->counters.calls_waiting_n = 0;
      ep->counters.calls_in_flight = 0;
    }
}

void bridge_service::add_call_stats(const endpoint_runtime& ep,
                                    nlohmann::json& out) const {
  if (!is_call(ep.cfg.socket))
    return;
  out["calls"] = ep.counters.calls.load();
  out["replies"] = ep.counters.replies.load();
  out["failures"] = ep.counters.failures.load();
  out["in_flight"] = ep.counters.calls_in_flight.load();
  out["waiting"] = ep.actor.calls_waiting.size();
  auto& by = out["dropped_by_reason"] = nlohmann::json::object();
  for (size_t r = 0; r < detail::call_drop_count; ++r)
    by[std::string{detail::call_drop_name(r)}] =
      ep.counters.call_dropped[r].load();
}

} // namespace troupe::bridge
