// Peer liveness: heartbeats out (pub endpoints; push endpoints with
// `heartbeat = true`), heartbeats in (sub, pull, and rep/router, which
// answer with their own), and the peers they make visible in stats,
// health, /metrics and on the local bus (`troupe.peer.up`,
// `troupe.peer.lost`). The Paranoid Pirate pattern of the ZeroMQ guide,
// over the bridge's ordinary wire format.

#include <algorithm>
#include <chrono>

#include <caf/message.hpp>
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

} // namespace

void bridge_service::start_liveness(
  const std::vector<std::shared_ptr<endpoint_runtime>>& eps,
  const bridge_config& cfg) {
  peers_->eps = &eps;
  peers_->cfg = &cfg;
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
  return nlohmann::json{
    {"src", peers_->cfg->source_id}, {"ts", unix_ns()}, {"bridge", name()}}
    .dump();
}

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
      // PUSH deals round robin: one beat per connect address, so that each
      // peer gets about one. Never queued behind the messages (a late beat
      // says nothing): what ZMQ will not take now is skipped, counted.
      auto copies = std::max<size_t>(1, ep.cfg.connect.size());
      for (size_t k = 0; k < copies; ++k)
        if (!detail::try_send(*ep.sock, heartbeat_topic, beat, {}))
          ++peers_->beats_skipped;
    }
  }
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
  auto [i, added] = peers_->peers.try_emplace(src);
  auto& p = i->second;
  p.last = now();
  p.link = link;
  if (added) {
    log().info("peer '{}' seen (via {})", src, e.via);
    p.alive_gauge = &metrics().gauge(
      "troupe_bridge_peer_alive", "1 while a peer's heartbeats arrive in time",
      {{"peer", src}});
  } else if (!p.alive) {
    log().info("peer '{}' back on '{}'", src, link);
    clear_health("peer " + src);
  }
  p.alive_gauge->set(1);
  if (added || !p.alive)
    publish(std::string{peer_up_topic},
            nlohmann::json{{"src", src}, {"link", link}, {"bridge", name()}});
  p.alive = true;
}

void bridge_service::check_peers() {
  auto t = now();
  for (auto& [src, p] : peers_->peers) {
    auto silent = t - p.last;
    if (!p.alive || silent <= peers_->cfg->peer_timeout)
      continue;
    p.alive = false;
    ++p.losses;
    p.alive_gauge->set(0);
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
  // any other, and answered at once with ours, so that it hears us too.
  on_heartbeat(e, endpoint);
  return_credit(*(*peers_->eps)[endpoint], 1, detail::envelope_bytes(e));
  send_reply(id, std::string{heartbeat_topic}, heartbeat_payload());
  return true;
}

void bridge_service::stop_liveness() {
  for (auto& [src, p] : peers_->peers)
    p.alive_gauge->set(0); // not heard from while stopped
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
                     {"losses", p.losses}});
  }
  out["heartbeats_skipped"] = peers_->beats_skipped;
}

} // namespace troupe::bridge
