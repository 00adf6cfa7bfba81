// The bridge's endpoint figures as /metrics families, line by line: what
// the collector a bridge registers writes.

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "troupe/actors/metrics.hpp"
#include "troupe/bridge/detail/bridge_runtime.hpp"

namespace troupe::bridge {

namespace {

using detail::endpoint_runtime;

// Only the CURVE refusals matter here: no sockets.
class refusals final : public transport {
public:
  std::map<std::string, uint64_t> denied;

  std::unique_ptr<endpoint_socket> open(const endpoint_config&,
                                        std::string& error) override {
    error = "no sockets here";
    return nullptr;
  }
  void wait(const std::vector<endpoint_socket*>&, std::chrono::milliseconds,
            std::vector<char>&) override {}
  void wake() override {}
  void close() override {}
  uint64_t auth_denied(const std::string& endpoint) const override {
    auto i = denied.find(endpoint);
    return i == denied.end() ? 0 : i->second;
  }
};

std::shared_ptr<endpoint_runtime> make_ep(std::string name, socket_kind k) {
  auto ep = std::make_shared<endpoint_runtime>();
  ep->cfg.name = std::move(name);
  ep->cfg.socket = k;
  return ep;
}

std::vector<std::string> lines_of(const std::string& text, const char* part) {
  std::vector<std::string> out;
  std::istringstream in{text};
  for (std::string line; std::getline(in, line);)
    if (line.find(part) != std::string::npos)
      out.push_back(line);
  return out;
}

} // namespace

TEST(bridge_metrics, every_endpoint_figure_becomes_a_labelled_family) {
  auto in = make_ep("in", socket_kind::pull);
  in->counters.received = 7;
  in->counters.in_flight = 2;
  in->counters.in_flight_max = 9;
  in->counters.in_flight_bytes = 64;
  in->window = 16;
  in->window_bytes = 4096;
  in->counters.malformed[static_cast<size_t>(frame_error::invalid_json)] = 3;
  auto rpc = make_ep("rpc", socket_kind::dealer);
  rpc->counters.sent = 5;
  rpc->counters.calls = 6;
  rpc->counters.replies = 4;
  rpc->counters.failures = 1;
  rpc->counters.calls_in_flight = 1;
  rpc->counters.calls_waiting_n = 2;
  rpc->counters.call_dropped[detail::call_drop::late_reply] = 1;
  auto out = make_ep("out", socket_kind::pub);
  out->counters.queued = 2;
  out->counters.pending_bytes = 40;
  out->cfg.max_queued = 10;
  out->cfg.max_queued_bytes = 1000;
  out->counters.out_dropped[static_cast<size_t>(detail::out_drop::queue_full)] =
    1;
  out->counters
    .out_dropped[static_cast<size_t>(detail::out_drop::slow_subscriber)] = 2;
  refusals net;
  net.denied["in"] = 4;
  metric_registry reg;
  reg.add_collector("bridge", [eps = std::vector{in, rpc, out}, &net](auto& w) {
    detail::write_endpoint_metrics(w, eps, net);
  });
  auto text = reg.render({{"service", "br"}});
  using v = std::vector<std::string>;
  EXPECT_EQ(
    lines_of(text, "troupe_bridge_in_flight{"),
    (v{
      R"(troupe_bridge_in_flight{service="br",endpoint="in",socket="pull"} 2)",
      R"(troupe_bridge_in_flight{service="br",endpoint="rpc",socket="dealer"} 1)"}));
  EXPECT_EQ(
    lines_of(text, "troupe_bridge_in_flight_max{"),
    (v{
      R"(troupe_bridge_in_flight_max{service="br",endpoint="in",socket="pull"} 9)"}));
  EXPECT_EQ(
    lines_of(text, "troupe_bridge_in_flight_bytes{"),
    (v{
      R"(troupe_bridge_in_flight_bytes{service="br",endpoint="in",socket="pull"} 64)"}));
  EXPECT_EQ(
    lines_of(text, "troupe_bridge_window{"),
    (v{
      R"(troupe_bridge_window{service="br",endpoint="in",socket="pull"} 16)"}));
  EXPECT_EQ(
    lines_of(text, "troupe_bridge_window_bytes{"),
    (v{
      R"(troupe_bridge_window_bytes{service="br",endpoint="in",socket="pull"} 4096)"}));
  EXPECT_EQ(
    lines_of(text, "troupe_bridge_calls_total{"),
    (v{
      R"(troupe_bridge_calls_total{service="br",endpoint="rpc",socket="dealer"} 6)"}));
  EXPECT_EQ(
    lines_of(text, "troupe_bridge_calls_waiting{"),
    (v{
      R"(troupe_bridge_calls_waiting{service="br",endpoint="rpc",socket="dealer"} 2)"}));
  EXPECT_EQ(
    lines_of(text, "troupe_bridge_call_dropped_total{"),
    (v{
      R"(troupe_bridge_call_dropped_total{service="br",endpoint="rpc",socket="dealer",reason="late_reply"} 1)",
      R"(troupe_bridge_call_dropped_total{service="br",endpoint="rpc",socket="dealer",reason="queue_full"} 0)",
      R"(troupe_bridge_call_dropped_total{service="br",endpoint="rpc",socket="dealer",reason="expired"} 0)",
      R"(troupe_bridge_call_dropped_total{service="br",endpoint="rpc",socket="dealer",reason="stopped"} 0)"}));
  auto dropped = lines_of(text, "troupe_bridge_dropped_total{");
  EXPECT_EQ(dropped.size(), 4u + 5u); // every call reason, every out reason
  EXPECT_NE(
    std::find(
      dropped.begin(), dropped.end(),
      R"(troupe_bridge_dropped_total{service="br",endpoint="out",socket="pub",reason="slow_subscriber"} 2)"),
    dropped.end());
  EXPECT_NE(
    std::find(
      dropped.begin(), dropped.end(),
      R"(troupe_bridge_dropped_total{service="br",endpoint="out",socket="pub",reason="queue_full"} 1)"),
    dropped.end());
  EXPECT_EQ(
    lines_of(text, "troupe_bridge_queued{"),
    (v{R"(troupe_bridge_queued{service="br",endpoint="out",socket="pub"} 2)"}));
  EXPECT_EQ(
    lines_of(text, "troupe_bridge_queued_bytes{"),
    (v{
      R"(troupe_bridge_queued_bytes{service="br",endpoint="out",socket="pub"} 40)"}));
  EXPECT_EQ(
    lines_of(text, "troupe_bridge_max_queued_bytes{"),
    (v{
      R"(troupe_bridge_max_queued_bytes{service="br",endpoint="out",socket="pub"} 1000)"}));
  EXPECT_EQ(
    lines_of(text, "troupe_bridge_malformed_total{service=\"br\",endpoint="
                   "\"in\",socket=\"pull\",reason=\"invalid_json\"}"),
    (v{
      R"(troupe_bridge_malformed_total{service="br",endpoint="in",socket="pull",reason="invalid_json"} 3)"}));
  EXPECT_EQ(
    lines_of(text,
             "troupe_bridge_auth_denied_total{service=\"br\",endpoint=\"in\""),
    (v{
      R"(troupe_bridge_auth_denied_total{service="br",endpoint="in",socket="pull"} 4)"}));
  // Every family has its header once.
  EXPECT_EQ(lines_of(text, "# TYPE troupe_bridge_window gauge").size(), 1u);
  EXPECT_EQ(
    lines_of(text, "# TYPE troupe_bridge_call_dropped_total counter").size(),
    1u);
  // Figures are read at every write, not copied once.
  out->counters.queued = 0;
  EXPECT_EQ(
    lines_of(reg.render({{"service", "br"}}), "troupe_bridge_queued{"),
    (v{R"(troupe_bridge_queued{service="br",endpoint="out",socket="pub"} 0)"}));
}

} // namespace troupe::bridge
