// Peer liveness: heartbeats out (pub endpoints; push and dealer endpoints
// with `heartbeat = true`), heartbeats in (sub, pull, rep/router, which
// answer with their own, and dealer, which hears those answers), a
// goodbye when a bridge stops on purpose, and the peers they make visible
// in stats, health, /metrics and on the local bus (`troupe.peer.up`,
// `troupe.peer.lost`, `troupe.peer.gone`). The Paranoid Pirate pattern of
// the ZeroMQ guide, over the bridge's ordinary wire format.

#include <algorithm>
#include <array>
#include <chrono>
#include <random>

#include <caf/message.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/logger.h>

#include "troupe/actors/metrics.hpp"
#include "troupe/bridge/bridge_service.hpp"
#include "troupe/bridge/detail/bridge_runtime.hpp"
#include "troupe/bridge/detail/peer_table.hpp"
#include "troupe/bridge/endpoint_config.hpp"
#include "troupe/bridge/wire.hpp"
#include "troupe/config/duration.hpp"

namespace troupe::bridge {

using detail::beat_call_id;
using detail::endpoint_runtime;

namespace {

using namespace std::chrono_literals;

int64_t unix_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

std::string ms_text(std::chrono::steady_clock::duration d) {
  return config::format_duration(
    std::chrono::duration_cast<std::chrono::milliseconds>(d));
}

// A dealer beat that the socket did not take within this long is dropped
// (a late beat says nothing; no peer, or hwm calls ahead of it).
constexpr auto dealer_beat_deadline = 50ms;

// Goodbyes are remembered this many peer_timeouts, long enough for any
// heartbeat sent before them to have arrived on another link.
constexpr int goodbye_memory = 10;

// This process's run: random, so that a process that restarts under the
// same source_id (a stable one, such as the host name) is told from the
// one before it, and two processes that share one are told apart.
const std::string& process_run() {
  static const std::string run = [] {
    std::random_device rd;
    uint64_t x = (static_cast<uint64_t>(rd()) << 32) ^ rd();
    return fmt::format("{:016x}", x);
  }();
  return run;
}

} // namespace

void bridge_service::start_liveness(
  const std::vector<std::shared_ptr<endpoint_runtime>>& eps,
  const bridge_config& cfg) {
  peers_->eps = &eps;
  peers_->cfg = &cfg;
  // A collector, not registry gauges, so that a peer that said goodbye
  // leaves no series behind (a worker restarted under a new HOST:PID
  // would otherwise add one per run).
  metrics().add_collector(
    "troupe_bridge_peers", [series = peers_->series](exposition_writer& w) {
      std::lock_guard<std::mutex> guard{series->mtx};
      if (series->alive.empty())
        return;
      w.family("troupe_bridge_peer_alive",
               "1 while a peer's heartbeats arrive in time, 0 once it went "
               "silent; no series for a peer that said goodbye",
               metric_type::gauge);
      for (auto& [src, x] : series->alive)
        w.sample({{"peer", src}, {"endpoint", x.link}}, x.value);
    });
  // Heartbeats go on the local bus like any inbound message, and peer
  // events are for whoever cares: neither is lost when nobody else
  // subscribes (which `troupe run` would count as no_subscriber).
  for (auto topic : {heartbeat_topic, std::string_view{"troupe.peer."}})
    subscribe_message(
      std::string{topic},
      [](const std::string&, const caf::message&) { return true; });
  if (cfg.heartbeat_interval > std::chrono::nanoseconds::zero())
    every(cfg.heartbeat_interval, [this] { heartbeat(); });
  // Checked three times per peer_timeout, so a peer is seen lost at most a
  // third of peer_timeout late, whether or not this bridge sends beats.
  every(std::max<std::chrono::nanoseconds>(cfg.peer_timeout / 3, 10ms),
        [this] { check_peers(); });
}

std::string bridge_service::heartbeat_payload() const {
  return nlohmann::json{{"src", peers_->cfg->source_id},
                        {"ts", unix_ns()},
                        {"bridge", name()},
                        {"run", process_run()}}
    .dump();
}

namespace {

// Sends one beat (or goodbye) on endpoint `ep` from the actor: pub and
// push endpoints are the actor's; a dealer's only once the receiver
// thread is gone (say_goodbye).
bool send_beat(endpoint_runtime& ep, std::string_view beat) {
  if (ep.cfg.socket == socket_kind::pub) {
    // (Only the goodbye comes here.) With XPUB_NODROP one full subscriber
    // would keep it from all: it goes past the full one, which misses it
    // and sees a loss after peer_timeout, to all the others.
    std::array<std::string_view, 2> parts{heartbeat_topic, beat};
    return ep.sock->send_past_full(parts.data(), parts.size());
  }
  if (ep.cfg.socket != socket_kind::dealer)
    return detail::try_send(*ep.sock, heartbeat_topic, beat, {});
  std::array<std::string_view, 4> parts{
    beat_call_id, {}, heartbeat_topic, beat};
  return ep.sock->try_send(parts.data(), parts.size());
}

// Whether `ep` sends heartbeats, and how many copies per beat: PUSH and
// DEALER deal round robin, one per connect address so that each peer
// gets about one.
size_t beat_copies(const endpoint_runtime& ep) {
  if (ep.cfg.socket == socket_kind::pub)
    return 1;
  if ((ep.cfg.socket == socket_kind::push ||
       ep.cfg.socket == socket_kind::dealer) &&
      ep.cfg.heartbeat)
    return std::max<size_t>(1, ep.cfg.connect.size());
  return 0;
}

// rep/router: a server has no beats of its own to send, only answers; it
// says goodbye, unasked, to each DEALER client that heartbeated within
// `fresh`, in the envelope of that client's beats (the answer to a beat
// that it never sent). The receiver thread, which owns the socket and
// knows the clients, is gone. REQ clients get nothing: a REQ socket takes
// only the reply to its own request (a stopping bridge answers those in
// flight with a `stopping` error).
bool say_goodbye_to_clients(endpoint_runtime& ep, std::string_view bye,
                            std::chrono::nanoseconds fresh) {
  auto t = std::chrono::steady_clock::now();
  bool sent = false;
  for (auto& [identity, last] : ep.rx.beat_clients) {
    if (t - last > fresh)
      continue;
    std::array<std::string_view, 5> parts{
      identity, beat_call_id, {}, heartbeat_topic, bye};
    sent = ep.sock->try_send(parts.data(), parts.size()) || sent;
  }
  return sent;
}

} // namespace

void bridge_service::heartbeat() {
  auto& eps = *peers_->eps;
  auto beat = heartbeat_payload();
  for (size_t i = 0; i < eps.size(); ++i) {
    auto& ep = *eps[i];
    if (ep.cfg.socket == socket_kind::pub) {
      send_out(i, std::string{heartbeat_topic},
               caf::make_message(
                 envelope{std::string{heartbeat_topic}, beat, "", ""}));
    } else if (ep.cfg.socket == socket_kind::push && ep.cfg.heartbeat) {
      // Never queued behind the messages (a late beat says nothing): what
      // ZMQ will not take now is skipped, counted.
      for (size_t k = beat_copies(ep); k > 0; --k)
        if (!send_beat(ep, beat))
          ++peers_->beats_skipped;
    } else if (ep.cfg.socket == socket_kind::dealer && ep.cfg.heartbeat) {
      // The receiver thread owns the socket: the beats go with the calls,
      // and are dropped if not sent soon.
      auto deadline = std::chrono::steady_clock::now() + dealer_beat_deadline;
      {
        std::lock_guard<std::mutex> guard{calls_->out.mtx};
        for (size_t k = beat_copies(ep); k > 0; --k)
          calls_->out.items.push_back(
            {&ep, 0,
             multipart{std::string{beat_call_id}, std::string{},
                       std::string{heartbeat_topic}, beat},
             deadline});
      }
      calls_->net->wake();
    }
  }
}

void bridge_service::say_goodbye() {
  if (peers_->eps == nullptr ||
      peers_->cfg->heartbeat_interval <= std::chrono::nanoseconds::zero())
    return;
  auto bye = nlohmann::json{
    {"src", peers_->cfg->source_id},
    {"ts", unix_ns()},
    {"bridge", name()},
    {"run", process_run()},
    {"bye",
     true}}.dump();
  // Every other endpoint closes first: a controller that hands this
  // process's jobs out again on the goodbye must find its job link gone
  // already, not deal them into it once more.
  for (auto& ep : *peers_->eps)
    if (ep->sock && beat_copies(*ep) == 0 && !is_request(ep->cfg.socket))
      ep->sock->close();
  std::vector<std::string> said;
  for (auto& ep : *peers_->eps) {
    auto copies = ep->sock ? beat_copies(*ep) : 0;
    bool sent = false;
    for (; copies > 0; --copies)
      sent = send_beat(*ep, bye) || sent;
    if (ep->sock && is_request(ep->cfg.socket))
      sent = say_goodbye_to_clients(*ep, bye, peers_->cfg->peer_timeout);
    if (sent)
      said.push_back(ep->cfg.name);
  }
  if (!said.empty())
    log().info("said goodbye to peers on {}", fmt::join(said, ", "));
}

std::vector<envelope> bridge_service::heartbeats_in(const bus_batch& batch) {
  std::vector<envelope> out;
  for (auto& x : batch.items)
    if (x.topic == heartbeat_topic && x.msg.match_element<envelope>(0))
      out.push_back(x.msg.get_as<envelope>(0));
  return out;
}

void bridge_service::on_heartbeat(const envelope& e, size_t endpoint) {
  auto j = nlohmann::json::parse(e.payload, nullptr, false);
  if (!j.is_object() || !j.contains("src") || !j["src"].is_string())
    return;
  auto src = j["src"].get<std::string>();
  if (src == peers_->cfg->source_id)
    return;
  auto& eps = *peers_->eps;
  auto link = endpoint < eps.size() ? eps[endpoint]->cfg.name : std::string{};
  int64_t ts = 0;
  if (auto t = j.find("ts"); t != j.end() && t->is_number_integer())
    ts = t->get<int64_t>();
  if (auto b = j.find("bye"); b != j.end() && *b == true) {
    on_goodbye(src, link, ts);
    return;
  }
  if (auto g = peers_->gone.find(src); g != peers_->gone.end()) {
    if (ts != 0 && ts <= g->second.ts)
      return; // sent before its goodbye, late on another link
    peers_->gone.erase(g);
  }
  std::string run;
  if (auto r = j.find("run"); r != j.end() && r->is_string())
    run = r->get<std::string>();
  auto [i, added] = peers_->peers.try_emplace(src);
  auto& p = i->second;
  if (!added && !run.empty() && !p.run.empty() && run != p.run) {
    if (std::find(p.replaced.begin(), p.replaced.end(), run) !=
        p.replaced.end()) {
      // Sent before the current run was first heard: a beat of a process
      // that ended, late (e.g. on another link); not a second process.
      if (ts == 0 || ts > p.run_since)
        on_src_conflict(src, p, run);
      return;
    }
    on_restart(src, p, link);
    p.run_since = ts;
  }
  if (!run.empty() && p.run.empty())
    p.run_since = ts;
  if (!run.empty())
    p.run = run;
  p.last = now();
  p.link = link;
  if (added) {
    log().info("peer '{}' seen (via {})", src, e.via);
  } else if (!p.alive) {
    log().info("peer '{}' back on '{}'", src, link);
    clear_health("peer " + src);
  }
  peers_->series->set(src, link, 1);
  if (added || !p.alive)
    publish(std::string{peer_up_topic},
            nlohmann::json{{"src", src}, {"link", link}, {"bridge", name()}});
  p.alive = true;
}

void bridge_service::on_goodbye(const std::string& src, const std::string& link,
                                int64_t ts) {
  auto& pt = *peers_;
  auto p = pt.peers.find(src);
  auto g = pt.gone.find(src);
  // One goodbye per stop: the other copies (several connect addresses,
  // several links) say nothing new.
  if (p == pt.peers.end() && g != pt.gone.end() &&
      (ts == 0 || ts <= g->second.ts))
    return;
  pt.gone[src] = detail::goodbye{ts, now()};
  ++pt.goodbyes;
  if (p != pt.peers.end()) {
    if (!p->second.alive)
      clear_health("peer " + src);
    pt.peers.erase(p);
  }
  pt.series->erase(src);
  log().info("peer '{}' said goodbye on '{}' (stopped on purpose)", src, link);
  publish(std::string{peer_gone_topic},
          nlohmann::json{{"src", src}, {"link", link}, {"bridge", name()}});
}

void bridge_service::on_restart(const std::string& src, detail::peer& p,
                                const std::string& link) {
  // A new process under the same src, without a goodbye from the old one:
  // the old one ended (killed, crashed) and took what it held with it,
  // even if the new one came back within peer_timeout.
  p.replaced.push_back(p.run);
  if (p.replaced.size() > detail::max_replaced_runs)
    p.replaced.erase(p.replaced.begin());
  if (!p.alive)
    return; // its loss was announced already
  auto silent = now() - p.last;
  p.alive = false; // the caller announces the new one: back, up
  ++p.losses;
  log().warn("peer '{}' restarted (heartbeats from a new process on '{}'); "
             "the old one is lost",
             src, link);
  publish(
    std::string{peer_lost_topic},
    nlohmann::json{
      {"src", src},
      {"link", link},
      {"bridge", name()},
      {"silent_ms",
       std::chrono::duration_cast<std::chrono::milliseconds>(silent).count()},
      {"restarted", true}});
}

void bridge_service::on_src_conflict(const std::string& src, detail::peer& p,
                                     const std::string& run) {
  // Beats from a run that a restart replaced: two live processes send
  // under one src. Both are alive; neither is announced again (no lost/up
  // flapping), and the health says what to fix.
  ++peers_->src_conflicts;
  p.last = now();
  if (!p.conflict) {
    auto what = fmt::format("two processes heartbeat as '{}' (runs {} and "
                            "{}): give each its own source_id",
                            src, run, p.run);
    log().warn("peer '{}': {}", src, what);
    set_health("source " + src, health_status::degraded, what);
  }
  p.conflict = now();
}

void bridge_service::check_peers() {
  auto t = now();
  auto forget = peers_->cfg->peer_timeout * goodbye_memory;
  for (auto g = peers_->gone.begin(); g != peers_->gone.end();)
    g = t - g->second.at > forget ? peers_->gone.erase(g) : std::next(g);
  for (auto& [src, p] : peers_->peers) {
    if (p.conflict && t - *p.conflict > peers_->cfg->peer_timeout) {
      p.conflict.reset();
      log().info("peer '{}': heartbeats from one process again", src);
      clear_health("source " + src);
    }
    auto silent = t - p.last;
    if (!p.alive || silent <= peers_->cfg->peer_timeout)
      continue;
    p.alive = false;
    ++p.losses;
    peers_->series->set(src, p.link, 0);
    auto what = "no heartbeat on '" + p.link + "' for " + ms_text(silent);
    log().warn("peer '{}': {}", src, what);
    set_health("peer " + src, health_status::degraded, what);
    publish(std::string{peer_lost_topic},
            nlohmann::json{
              {"src", src},
              {"link", p.link},
              {"bridge", name()},
              {"silent_ms",
               std::chrono::duration_cast<std::chrono::milliseconds>(silent)
                 .count()}});
  }
}

bool bridge_service::answer_heartbeat(uint64_t id, size_t endpoint,
                                      const envelope& e) {
  if (e.topic != heartbeat_topic)
    return false;
  // A DEALER or REQ peer heartbeats on a request link: it is heard like
  // any other, and answered at once with ours, so that it hears us too
  // (a goodbye too: a REQ peer must always get an answer).
  on_heartbeat(e, endpoint);
  return_credit(*(*peers_->eps)[endpoint], 1, detail::envelope_bytes(e));
  send_reply(id, std::string{heartbeat_topic}, heartbeat_payload());
  return true;
}

void bridge_service::stop_liveness() {
  for (auto& [src, p] : peers_->peers)
    peers_->series->set(src, p.link, 0); // not heard from while stopped
}

void bridge_service::add_peer_stats(nlohmann::json& out) const {
  auto& peers = out["peers"] = nlohmann::json::array();
  auto t = now();
  for (auto& [src, p] : peers_->peers) {
    auto ago =
      std::chrono::duration_cast<std::chrono::milliseconds>(t - p.last).count();
    peers.push_back({{"src", src},
                     {"link", p.link},
                     {"last_seen_ms_ago", ago},
                     {"alive", peers_->cfg != nullptr &&
                                 t - p.last <= peers_->cfg->peer_timeout},
                     {"losses", p.losses},
                     {"run", p.run}});
  }
  out["src_conflicts"] = peers_->src_conflicts;
  out["heartbeats_skipped"] = peers_->beats_skipped;
  out["goodbyes"] = peers_->goodbyes;
}

} // namespace troupe::bridge
