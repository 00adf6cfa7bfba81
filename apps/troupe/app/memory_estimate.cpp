#include "troupe/app/memory_estimate.hpp"

#include <algorithm>
#include <cstdio>

#include "troupe/bridge/endpoint_config.hpp"
#include "troupe/bridge/proxy_config.hpp"

namespace troupe::app {

namespace {

/// Bytes a waiting message costs besides its payload: the caf::message,
/// the topic string, the bus item (measured order of magnitude).
constexpr uint64_t overhead = 128;

/// What one publish_window may still add: one handler's outbox.
constexpr uint64_t outbox = 1024;

std::string times(uint64_t n, uint64_t bytes) {
  return std::to_string(n) + " x " + format_bytes(bytes);
}

void add_bridge(memory_estimate& out, const std::string& name,
                const bridge::bridge_config& b, uint64_t m) {
  for (auto& ep : b.endpoints) {
    auto hwm = static_cast<uint64_t>(ep.hwm);
    memory_part p;
    p.where = name + "/" + ep.name;
    if (bridge::is_inbound(ep.socket) || bridge::is_request(ep.socket) ||
        bridge::is_call(ep.socket)) {
      // ZMQ's rcvhwm per peer pipe, and the credit window between the
      // socket and the services (messages the peer chose the size of).
      // The window stops reading at max_in_flight_bytes; one read of up
      // to 64 messages may go past it.
      auto in = static_cast<uint64_t>(ep.max_message_bytes) + overhead;
      auto window = std::min<uint64_t>(
        hwm * in, static_cast<uint64_t>(ep.max_in_flight_bytes) +
                    std::min<uint64_t>(hwm, 64) * in);
      p.formula = "rcvhwm " + times(hwm, in) + " per peer + window min(" +
                  times(hwm, in) + ", " + format_bytes(ep.max_in_flight_bytes) +
                  " + one read)";
      p.per_peer = hwm * in;
      p.bytes = p.per_peer + window;
    } else {
      // ZMQ's sndhwm per peer pipe, and the bridge's own send queue.
      auto queued =
        std::min<uint64_t>(ep.max_queued * (m + overhead), ep.max_queued_bytes);
      p.formula = "sndhwm " + times(hwm, m + overhead) +
                  " per peer + queue min(" + std::to_string(ep.max_queued) +
                  " msgs, " + format_bytes(ep.max_queued_bytes) + ")";
      p.per_peer = hwm * (m + overhead);
      p.bytes = p.per_peer + queued;
    }
    out.parts.push_back(std::move(p));
  }
}

void add_proxy(memory_estimate& out, const std::string& name,
               const bridge::proxy_config& x) {
  // What a peer sends waits in the receiving side's rcvhwm pipe and the
  // other side's sndhwm pipe; frames are at most the larger
  // max_message_bytes (the proxy has no queue of its own).
  auto in = static_cast<uint64_t>(std::max(x.frontend.max_message_bytes,
                                           x.backend.max_message_bytes)) +
            overhead;
  auto fe = static_cast<uint64_t>(x.frontend.hwm);
  auto be = static_cast<uint64_t>(x.backend.hwm);
  memory_part p;
  p.where = name;
  p.formula = "per peer: frontend 2 x " + times(fe, in) + ", backend 2 x " +
              times(be, in) + " (sndhwm + rcvhwm)";
  p.per_peer = 2 * std::max(fe, be) * in;
  p.bytes = 2 * (fe + be) * in;
  out.parts.push_back(std::move(p));
}

} // namespace

std::string format_bytes(uint64_t n) {
  static constexpr const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  auto x = static_cast<double>(n);
  size_t u = 0;
  while (x >= 1024 && u + 1 < std::size(units)) {
    x /= 1024;
    ++u;
  }
  char buf[32];
  if (u == 0 || x >= 100 || x == static_cast<double>(static_cast<uint64_t>(x)))
    std::snprintf(buf, sizeof(buf), "%.0f %s", x, units[u]);
  else
    std::snprintf(buf, sizeof(buf), "%.1f %s", x, units[u]);
  return buf;
}

memory_estimate estimate_memory(const config::app_config& cfg,
                                uint64_t message_bytes) {
  memory_estimate out;
  for (auto& [name, spec] : cfg.services) {
    if (!spec.enabled)
      continue;
    if (spec.type == "bridge") {
      bridge::bridge_config b;
      if (bridge::parse_bridge_config(spec.settings, b).empty())
        add_bridge(out, name, b, message_bytes);
      continue; // its own publishes are the inbound window, counted above
    }
    if (spec.type == "proxy") {
      bridge::proxy_config x;
      if (bridge::parse_proxy_config(spec.settings, x).empty())
        add_proxy(out, name, x);
      continue; // publishes nothing on the bus
    }
    if (spec.publish_window <= 0) {
      out.unbounded.push_back(name);
      continue;
    }
    auto w = static_cast<uint64_t>(spec.publish_window) + outbox;
    memory_part p;
    p.where = name;
    p.formula = "publish_window " + std::to_string(spec.publish_window) +
                " + outbox " + std::to_string(outbox) + " x " +
                format_bytes(message_bytes + overhead);
    p.bytes = w * (message_bytes + overhead);
    out.parts.push_back(std::move(p));
  }
  for (auto& p : out.parts) {
    out.total += p.bytes;
    out.per_peer += p.per_peer;
  }
  return out;
}

std::string render_memory_estimate(const memory_estimate& m,
                                   uint64_t message_bytes) {
  std::string s =
    "memory ceiling for messages (published ones of " +
    format_bytes(message_bytes) +
    "; inbound ones of max_message_bytes): " + format_bytes(m.total) +
    " with one peer per endpoint, " + format_bytes(m.per_peer) +
    " more per further peer\n";
  size_t width = 0;
  for (auto& p : m.parts)
    width = std::max(width, p.where.size());
  for (auto& p : m.parts)
    s += "  " + p.where + std::string(width - p.where.size() + 2, ' ') +
         format_bytes(p.bytes) + "  (" + p.formula + ")\n";
  for (auto& u : m.unbounded)
    s += "  " + u +
         std::string(width > u.size() ? width - u.size() + 2 : 2, ' ') +
         "unbounded (publish_window = 0)\n";
  return s;
}

} // namespace troupe::app
