// The bridge's stats JSON as /metrics families, line by line.

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "troupe/actors/metrics.hpp"
#include "troupe/app/app_metrics.hpp"

namespace {

std::vector<std::string> lines_of(const std::string& text, const char* part) {
  std::vector<std::string> out;
  std::istringstream in{text};
  for (std::string line; std::getline(in, line);)
    if (line.find(part) != std::string::npos)
      out.push_back(line);
  return out;
}

} // namespace

TEST(app_metrics, bridge_stats_become_labelled_families) {
  auto stats = R"({"endpoints": [
    {"name": "in", "socket": "pull", "received": 7, "in_flight": 2,
     "window": 16, "malformed": {"bad_json": 3}},
    {"name": "rpc", "socket": "dealer", "sent": 5, "calls": 6, "replies": 4,
     "failures": 1, "in_flight": 1,
     "dropped_by_reason": {"late_reply": 1, "queue_full": 0}},
    {"name": "out", "socket": "pub", "dropped": 3, "queued": 2,
     "queued_bytes": 40, "max_queued": 10, "max_queued_bytes": 1000,
     "dropped_by_reason": {"queue_full": 1, "slow_subscriber": 2}}],
    "peers": [{"src": "p1", "alive": true}]})";
  troupe::exposition_writer w;
  troupe::app::write_bridge_metrics(w, "br", stats);
  auto text = w.str();
  using v = std::vector<std::string>;
  EXPECT_EQ(
    lines_of(text, "troupe_bridge_in_flight{"),
    (v{
      R"(troupe_bridge_in_flight{service="br",endpoint="in",socket="pull"} 2)",
      R"(troupe_bridge_in_flight{service="br",endpoint="rpc",socket="dealer"} 1)"}));
  EXPECT_EQ(
    lines_of(text, "troupe_bridge_window{"),
    (v{
      R"(troupe_bridge_window{service="br",endpoint="in",socket="pull"} 16)"}));
  EXPECT_EQ(
    lines_of(text, "troupe_bridge_calls_total{"),
    (v{
      R"(troupe_bridge_calls_total{service="br",endpoint="rpc",socket="dealer"} 6)"}));
  EXPECT_EQ(
    lines_of(text, "troupe_bridge_call_dropped_total{"),
    (v{
      R"(troupe_bridge_call_dropped_total{service="br",endpoint="rpc",socket="dealer",reason="late_reply"} 1)",
      R"(troupe_bridge_call_dropped_total{service="br",endpoint="rpc",socket="dealer",reason="queue_full"} 0)"}));
  // Every endpoint's drops by reason; call reasons also under their old
  // name, for calls only.
  EXPECT_EQ(
    lines_of(text, "troupe_bridge_dropped_total{"),
    (v{
      R"(troupe_bridge_dropped_total{service="br",endpoint="rpc",socket="dealer",reason="late_reply"} 1)",
      R"(troupe_bridge_dropped_total{service="br",endpoint="rpc",socket="dealer",reason="queue_full"} 0)",
      R"(troupe_bridge_dropped_total{service="br",endpoint="out",socket="pub",reason="queue_full"} 1)",
      R"(troupe_bridge_dropped_total{service="br",endpoint="out",socket="pub",reason="slow_subscriber"} 2)"}));
  EXPECT_EQ(
    lines_of(text, "troupe_bridge_queued{"),
    (v{R"(troupe_bridge_queued{service="br",endpoint="out",socket="pub"} 2)"}));
  EXPECT_EQ(
    lines_of(text, "troupe_bridge_queued_bytes{"),
    (v{
      R"(troupe_bridge_queued_bytes{service="br",endpoint="out",socket="pub"} 40)"}));
  EXPECT_EQ(
    lines_of(text, "troupe_bridge_max_queued{"),
    (v{
      R"(troupe_bridge_max_queued{service="br",endpoint="out",socket="pub"} 10)"}));
  EXPECT_EQ(
    lines_of(text, "troupe_bridge_max_queued_bytes{"),
    (v{
      R"(troupe_bridge_max_queued_bytes{service="br",endpoint="out",socket="pub"} 1000)"}));
  EXPECT_EQ(
    lines_of(text, "troupe_bridge_malformed_total{"),
    (v{
      R"(troupe_bridge_malformed_total{service="br",endpoint="in",socket="pull",reason="bad_json"} 3)"}));
  EXPECT_EQ(lines_of(text, "troupe_bridge_peer_alive{"),
            (v{R"(troupe_bridge_peer_alive{service="br",peer="p1"} 1)"}));
  // Every family has its header once.
  EXPECT_EQ(lines_of(text, "# TYPE troupe_bridge_window gauge").size(), 1u);
  EXPECT_EQ(
    lines_of(text, "# TYPE troupe_bridge_call_dropped_total counter").size(),
    1u);
}

TEST(app_metrics, text_that_is_not_stats_json_writes_nothing) {
  troupe::exposition_writer w;
  troupe::app::write_bridge_metrics(w, "br", "not json");
  EXPECT_EQ(w.str(), "");
}
