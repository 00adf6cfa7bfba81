#pragma once

#include <memory>

#include "troupe/actors/service.hpp"

namespace troupe::bridge {

/// The `proxy` service type: libzmq's proxy (zmq_proxy_steerable) between a
/// frontend and a backend address, on its own thread, with the lifecycle of
/// a service. `mode = "pubsub"` (XSUB <-> XPUB), `"pipeline"` (PULL -> PUSH)
/// or `"requests"` (ROUTER <-> DEALER); see proxy_config.hpp for the
/// settings and docs/proxy.md for the topologies.
///
/// Start binds (or connects) both sides and starts the proxy; stop
/// TERMINATEs it through the control socket. `paused = true` holds the
/// traffic (PAUSE), and a reload that flips it pauses or resumes. ZMQ's
/// STATISTICS are read every `stats_interval` into the status metadata and
/// the counters `troupe_proxy_messages_total` and `troupe_proxy_bytes_total`
/// (labels `side`, `direction`).
class proxy_service : public service {
public:
  proxy_service();
  ~proxy_service() override;

  const config::schema* settings_schema() const override;
  bool requires_configuration() const override { return true; }
  hook_result on_configure(const settings& cfg) override;
  hook_result on_start() override;
  hook_result on_stop() override;
  hook_result on_reconfigure(const settings& cfg) override;

  /// The schema of the type's settings (proxy_schema()).
  static const config::schema& type_schema();

private:
  struct state;

  void read_statistics(std::chrono::milliseconds timeout);
  void start_stats_task();

  std::unique_ptr<state> st_;
};

} // namespace troupe::bridge
