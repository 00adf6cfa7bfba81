// JSON shapes of the control plane: round trips and stable field names.

#include <gtest/gtest.h>

#include "troupe/app/status_json.hpp"

using nlohmann::json;
using troupe::format_iso8601;
using troupe::health_status;
using troupe::parse_iso8601;
using troupe::service_state;
using troupe::service_status;
using troupe::timestamp;

namespace {

timestamp at_ms(int64_t ms) {
  return timestamp{std::chrono::milliseconds{ms}};
}

TEST(status_json, timestamps_are_iso8601_utc) {
  EXPECT_EQ(format_iso8601(at_ms(1'795'443'055'123)),
            "2026-11-23T14:10:55.123Z");
  EXPECT_EQ(format_iso8601(at_ms(-1)), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(parse_iso8601("2026-11-23T14:10:55.123Z"),
            at_ms(1'795'443'055'123));
  EXPECT_EQ(parse_iso8601("2026-11-23T14:10:55Z"), at_ms(1'795'443'055'000));
  EXPECT_EQ(parse_iso8601("1970-01-01T00:00:00.000000001Z"),
            timestamp{std::chrono::nanoseconds{1}});
  for (auto* bad :
       {"", "2026-11-23", "2026-11-23T14:10:55", "2026-13-01T00:00:00Z",
        "2026-11-23T14:10:55.Z", "2026-11-23T14:10:55+01:00",
        "2026-11-23T14:10:55.1234567890Z", "2026-11-23 10:10:55Z"})
    EXPECT_FALSE(parse_iso8601(bad)) << bad;
}

TEST(status_json, service_status_round_trips) {
  service_status st;
  st.name = "tick";
  st.type = "ticker";
  st.state = service_state::running;
  st.health = health_status::degraded;
  st.started_at = at_ms(1'795'443'055'123);
  st.uptime = std::chrono::milliseconds{3500};
  st.messages_in = 1;
  st.messages_out = 2;
  st.messages_dropped = 3;
  st.errors = 4;
  st.restarts = 5;
  st.in_flight = 6;
  st.last_error = "bad \xff byte";
  st.stopped_hard = true;
  st.metadata = {{"version", "1.2"}};
  st.history.push_back({"tick", service_state::starting, service_state::running,
                        "start", at_ms(1'795'443'055'100)});
  json j = st;
  EXPECT_EQ(j["state"], "running");
  EXPECT_EQ(j["health"], "degraded");
  EXPECT_EQ(j["started_at"], "2026-11-23T14:10:55.123Z");
  EXPECT_EQ(j["uptime_seconds"], 3.5);
  EXPECT_EQ(j["history"][0],
            json::parse(R"({"from": "starting", "to": "running",
              "reason": "start", "at": "2026-11-23T14:10:55.100Z"})"));
  auto back = j.get<service_status>();
  EXPECT_EQ(back.name, st.name);
  EXPECT_EQ(back.type, st.type);
  EXPECT_EQ(back.state, st.state);
  EXPECT_EQ(back.health, st.health);
  EXPECT_EQ(back.started_at, st.started_at);
  EXPECT_EQ(back.uptime, st.uptime);
  EXPECT_EQ(back.messages_dropped, 3U);
  EXPECT_EQ(back.in_flight, 6U);
  EXPECT_EQ(back.last_error, st.last_error);
  EXPECT_TRUE(back.stopped_hard);
  EXPECT_EQ(j["metadata"]["version"], "1.2");
  EXPECT_EQ(back.metadata, st.metadata);
  ASSERT_EQ(back.history.size(), 1U);
  EXPECT_EQ(back.history[0].service, "tick");
  EXPECT_EQ(back.history[0].at, st.history[0].at);
}

TEST(status_json, never_is_null) {
  service_status st;
  st.name = "x";
  json j = st;
  EXPECT_TRUE(j["started_at"].is_null());
  EXPECT_EQ(j.get<service_status>().started_at, timestamp{});
}

TEST(status_json, bad_names_are_errors) {
  auto j = json::parse(R"({"name": "x", "state": "dancing"})");
  EXPECT_THROW(j.get<service_status>(), json::exception);
  j = json::parse(R"({"name": "x", "state": "running", "health": "meh"})");
  EXPECT_THROW(j.get<service_status>(), json::exception);
  j = json::parse(R"({"name": "x", "state": "running", "started_at": "now"})");
  EXPECT_THROW(j.get<service_status>(), json::exception);
  // Missing counters read as zero.
  j = json::parse(R"({"name": "x", "state": "failed"})");
  EXPECT_EQ(j.get<service_status>().state, service_state::failed);
}

TEST(status_json, app_health_is_the_worst_service) {
  troupe::health_report ok;
  troupe::health_report bad;
  bad.overall = health_status::unhealthy;
  bad.checks.push_back({"peer", health_status::unhealthy, "gone", {}});
  auto j = troupe::app::app_health_json({{"a", ok}}, true);
  EXPECT_EQ(j, json::parse(R"({"ok": true, "ready": true, "status": "healthy",
    "summary": {"services": 1, "expected": 1, "states": {"running": 1},
                "health": {"healthy": 1}},
    "services": [{"name": "a", "state": "running", "expected": true,
                  "overall": "healthy", "checks": []}],
    "not_ready": []})"));
  // By default only what needs attention is listed.
  EXPECT_EQ(troupe::app::app_health_json({{"a", ok}})["services"],
            json::array());
  j = troupe::app::app_health_json({{"a", ok}, {"b", bad}});
  EXPECT_EQ(j["ok"], false);
  EXPECT_EQ(j["status"], "unhealthy");
  EXPECT_EQ(j["summary"]["health"],
            json::parse(R"({"healthy": 1, "unhealthy": 1})"));
  ASSERT_EQ(j["services"].size(), 1U);
  EXPECT_EQ(j["services"][0]["name"], "b");
  EXPECT_EQ(j["services"][0]["checks"][0]["message"], "gone");
  EXPECT_EQ(j["services"][0]["checks"][0]["updated"], nullptr);
  auto report = j["services"][0].get<troupe::health_report>();
  EXPECT_EQ(report.checks[0].status, health_status::unhealthy);
  EXPECT_EQ(troupe::app::app_health_body({})["ok"], true);
}

// The one definition of readiness: every expected service runs and is not
// unhealthy; degraded is ready; services stopped or disabled on purpose
// count for nothing.
TEST(status_json, ready_when_every_expected_service_runs_and_is_not_unhealthy) {
  using troupe::service_state;
  using troupe::app::app_health_body;
  using troupe::app::service_health;
  troupe::health_report degraded;
  degraded.overall = health_status::degraded;
  troupe::health_report unhealthy;
  unhealthy.overall = health_status::unhealthy;
  std::vector<service_health> xs{
    {"tick", service_state::running, true, degraded},
    {"off", service_state::stopped, false, {}},
    {"never", service_state::initialized, false, {}}};
  auto j = app_health_body(xs, true);
  EXPECT_EQ(j["ready"], true);
  EXPECT_EQ(j["ok"], true);
  EXPECT_EQ(j["status"], "degraded");
  EXPECT_EQ(j["not_ready"], json::array());
  EXPECT_EQ(j["services"].size(), 3U);
  EXPECT_EQ(j["services"][1]["expected"], false);
  EXPECT_EQ(j["services"][1]["state"], "stopped");
  // Not expected and stopped: counted, not listed; degraded: listed.
  j = app_health_body(xs);
  EXPECT_EQ(j["summary"], json::parse(R"({"services": 3, "expected": 1,
    "states": {"running": 1, "stopped": 1, "initialized": 1},
    "health": {"healthy": 2, "degraded": 1}})"));
  ASSERT_EQ(j["services"].size(), 1U);
  EXPECT_EQ(j["services"][0]["name"], "tick");
  // An expected service that does not run, or runs unhealthy: not ready.
  xs.push_back({"count", service_state::failed, true, {}});
  xs.push_back({"sick", service_state::running, true, unhealthy});
  j = app_health_body(xs);
  EXPECT_EQ(j["ready"], false);
  EXPECT_EQ(j["ok"], false);
  EXPECT_EQ(j["status"], "unhealthy");
  EXPECT_EQ(j["not_ready"], json::parse(R"([
    {"name": "count", "reason": "failed"},
    {"name": "sick", "reason": "unhealthy"}])"));
}

// GET /services?state=&type=&limit=&after=: filters, then pages in start
// order; the next page starts after the last name of this one.
TEST(status_json, select_services_filters_and_pages) {
  using troupe::service_state;
  using troupe::service_status;
  using troupe::app::select_services;
  using troupe::app::service_query;
  std::vector<service_status> all;
  for (int i = 0; i < 7; ++i) {
    service_status st;
    st.name = "s" + std::to_string(i);
    st.type = i % 2 == 0 ? "even" : "odd";
    st.state = i == 3 ? service_state::failed : service_state::running;
    all.push_back(st);
  }
  auto names = [](const json& items) {
    std::vector<std::string> out;
    for (auto& x : items)
      out.push_back(x["name"].get<std::string>());
    return out;
  };
  using v = std::vector<std::string>;
  auto p = select_services(all, {});
  EXPECT_EQ(p.items.size(), 7U);
  EXPECT_EQ(p.total, 7U);
  EXPECT_EQ(p.next_after, "");
  p = select_services(all, service_query{"failed", "", 0, ""});
  EXPECT_EQ(names(p.items), (v{"s3"}));
  EXPECT_EQ(p.total, 1U);
  p = select_services(all, service_query{"", "even", 0, ""});
  EXPECT_EQ(names(p.items), (v{"s0", "s2", "s4", "s6"}));
  p = select_services(all, service_query{"running", "odd", 0, ""});
  EXPECT_EQ(names(p.items), (v{"s1", "s5"}));
  // Pages of 3 through the even ones, then the rest.
  p = select_services(all, service_query{"", "even", 3, ""});
  EXPECT_EQ(names(p.items), (v{"s0", "s2", "s4"}));
  EXPECT_EQ(p.total, 4U);
  EXPECT_EQ(p.next_after, "s4");
  p = select_services(all, service_query{"", "even", 3, "s4"});
  EXPECT_EQ(names(p.items), (v{"s6"}));
  EXPECT_EQ(p.next_after, "");
  // `after` may name a service the filter leaves out.
  p = select_services(all, service_query{"", "", 2, "s3"});
  EXPECT_EQ(names(p.items), (v{"s4", "s5"}));
  EXPECT_EQ(p.next_after, "s5");
  // A full last page says there is nothing after it.
  p = select_services(all, service_query{"", "", 7, ""});
  EXPECT_EQ(p.next_after, "");
  p = select_services(all, service_query{"", "", 2, "ghost"});
  EXPECT_EQ(p.error, "after: no service named 'ghost'");
  EXPECT_TRUE(p.items.empty());
}

} // namespace
