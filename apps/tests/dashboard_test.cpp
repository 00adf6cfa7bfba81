// The dashboard's side of the control plane over real HTTP on 127.0.0.1:
// the page at GET / (public, built in), the log tail at GET /logs and
// GET /health?probe=false; and the log_ring sink on its own. The page in a
// browser: tests/process/dashboard_test.sh.

#include <gtest/gtest.h>
#include <httplib.h>
#include <spdlog/logger.h>

#include "fake_control_model.hpp"
#include "troupe/app/dashboard.hpp"
#include "troupe/app/log_ring.hpp"

using nlohmann::json;
using troupe::app::control_access;
using troupe::app::control_server;
using troupe::app::log_ring;
using troupe::app::parse_log_tail;
using troupe::testing::fake_control_model;

namespace {

// Logs `n` lines "line 0", "line 1", ... through a logger named `name`.
void log_lines(const std::shared_ptr<log_ring>& ring, int n,
               const std::string& name = "tick") {
  spdlog::logger log{name, ring};
  log.set_level(spdlog::level::trace);
  for (int i = 0; i < n; ++i)
    log.info("line {}", i);
}

TEST(log_ring, keeps_the_newest_records_oldest_first) {
  auto ring = std::make_shared<log_ring>(3);
  log_lines(ring, 5);
  EXPECT_EQ(ring->size(), 3U);
  auto t = ring->tail(10);
  EXPECT_EQ(t["total"], 5);
  EXPECT_EQ(t["capacity"], 3);
  ASSERT_EQ(t["lines"].size(), 3U);
  EXPECT_EQ(t["lines"][0]["message"], "line 2");
  EXPECT_EQ(t["lines"][2]["message"], "line 4");
  EXPECT_EQ(t["lines"][2]["level"], "info");
  EXPECT_EQ(t["lines"][2]["logger"], "tick");
  // An ISO-8601 time with milliseconds.
  auto at = t["lines"][2]["at"].get<std::string>();
  EXPECT_TRUE(troupe::parse_iso8601(at)) << at;
  t = ring->tail(1);
  ASSERT_EQ(t["lines"].size(), 1U);
  EXPECT_EQ(t["lines"][0]["message"], "line 4");
  EXPECT_TRUE(ring->tail(0)["lines"].empty());
}

TEST(log_ring, leaves_out_the_control_planes_request_lines) {
  auto ring = std::make_shared<log_ring>(10);
  spdlog::logger control{"control", ring};
  control.set_level(spdlog::level::trace);
  control.debug("127.0.0.1 GET /services -> 200");
  control.warn("kept");
  spdlog::logger other{"tick", ring};
  other.set_level(spdlog::level::trace);
  other.debug("kept too");
  auto t = ring->tail(10);
  ASSERT_EQ(t["lines"].size(), 2U);
  EXPECT_EQ(t["lines"][0]["message"], "kept");
  EXPECT_EQ(t["lines"][0]["level"], "warning");
  EXPECT_EQ(t["lines"][1]["message"], "kept too");
}

TEST(log_ring, cuts_long_messages) {
  auto ring = std::make_shared<log_ring>(2);
  spdlog::logger log{"tick", ring};
  log.info(std::string(log_ring::max_message_bytes + 100, 'x'));
  auto msg = ring->tail(1)["lines"][0]["message"].get<std::string>();
  EXPECT_EQ(msg.size(), log_ring::max_message_bytes + 3);
  EXPECT_EQ(msg.substr(msg.size() - 3), "...");
}

TEST(log_tail, parses_the_tail_parameter) {
  EXPECT_EQ(parse_log_tail(""), 100U);
  EXPECT_EQ(parse_log_tail("0"), 0U);
  EXPECT_EQ(parse_log_tail("25"), 25U);
  EXPECT_EQ(parse_log_tail("5000"), troupe::app::max_log_tail);
  EXPECT_EQ(parse_log_tail("99999999999999999999999"),
            troupe::app::max_log_tail);
  EXPECT_FALSE(parse_log_tail("-1"));
  EXPECT_FALSE(parse_log_tail("many"));
  EXPECT_FALSE(parse_log_tail("10x"));
}

TEST(dashboard_page, is_built_in_with_its_auth_mode) {
  auto src = troupe::app::dashboard_page_source();
  EXPECT_EQ(src.substr(0, 15), "<!DOCTYPE html>");
  EXPECT_NE(src.find("@TROUPE_AUTH@"), std::string_view::npos);
  auto open = troupe::app::dashboard_page(false);
  EXPECT_NE(open.find(R"(<meta name="troupe-auth" content="none">)"),
            std::string::npos);
  auto guarded = troupe::app::dashboard_page(true);
  EXPECT_NE(guarded.find(R"(<meta name="troupe-auth" content="token">)"),
            std::string::npos);
  EXPECT_EQ(guarded.find("@TROUPE_AUTH@"), std::string::npos);
  // Nothing from elsewhere: no absolute URL in any src or href.
  for (auto* bad : {"src=\"http", "href=\"http", "src=\"//", "href=\"//"})
    EXPECT_EQ(guarded.find(bad), std::string::npos) << bad;
}

class dashboard_routes : public ::testing::Test {
protected:
  void start(control_access access, bool with_logs = true) {
    server.stop();
    if (with_logs)
      server.serve_logs(ring);
    auto err = server.start(model, "127.0.0.1:0", std::move(access));
    ASSERT_FALSE(err) << *err;
    client = std::make_unique<httplib::Client>("127.0.0.1", server.port());
    client->set_read_timeout(10);
  }

  static control_access tokens() {
    control_access a;
    a.token = "adm1n";
    a.read_token = "r3ad";
    return a;
  }

  fake_control_model model;
  std::shared_ptr<log_ring> ring = std::make_shared<log_ring>(50);
  control_server server;
  std::unique_ptr<httplib::Client> client;
};

TEST_F(dashboard_routes,
       the_page_is_public_and_says_whether_a_token_is_needed) {
  start(tokens());
  auto res = client->Get("/");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "text/html; charset=utf-8");
  EXPECT_NE(res->get_header_value("Content-Security-Policy")
              .find("frame-ancestors 'none'"),
            std::string::npos);
  EXPECT_NE(res->body.find(R"(content="token")"), std::string::npos);
  EXPECT_EQ(model.calls, 0); // the page asks the model nothing
  // Only the page: the data behind it still needs a credential.
  res = client->Get("/services");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
  res = client->Post("/", "", "text/plain");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
  start({});
  res = client->Get("/");
  ASSERT_TRUE(res);
  EXPECT_NE(res->body.find(R"(content="none")"), std::string::npos);
}

TEST_F(dashboard_routes, logs_answers_the_tail_to_readers) {
  start(tokens());
  log_lines(ring, 7);
  auto res = client->Get("/logs?tail=3");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
  client->set_bearer_token_auth("r3ad");
  res = client->Get("/logs?tail=3");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  auto body = json::parse(res->body);
  ASSERT_EQ(body["lines"].size(), 3U);
  EXPECT_EQ(body["lines"][2]["message"], "line 6");
  EXPECT_EQ(body["total"], 7);
  res = client->Get("/logs");
  ASSERT_TRUE(res);
  EXPECT_EQ(json::parse(res->body)["lines"].size(), 7U);
  res = client->Get("/logs?tail=lots");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_EQ(json::parse(res->body)["error"],
            "tail: expected a number of lines, e.g. 100");
}

TEST_F(dashboard_routes, logs_of_invalid_utf8_are_still_json) {
  start({});
  spdlog::logger log{"tick", ring};
  log.info("bad \xff\xfe bytes");
  auto res = client->Get("/logs?tail=1");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  auto msg = json::parse(res->body)["lines"][0]["message"].get<std::string>();
  EXPECT_EQ(msg.substr(0, 4), "bad ");
  EXPECT_NE(msg.find("bytes"), std::string::npos);
}

TEST_F(dashboard_routes, logs_is_404_without_a_log_tail) {
  start({}, false);
  auto res = client->Get("/logs");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
  EXPECT_EQ(json::parse(res->body)["error"], "no log tail in this process");
}

TEST_F(dashboard_routes, health_probe_false_answers_200_with_the_verdict) {
  start({});
  model.app_health = troupe::health_status::unhealthy;
  auto res = client->Get("/health");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 503);
  res = client->Get("/health?probe=false");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  auto body = json::parse(res->body);
  EXPECT_EQ(body["ok"], false);
  EXPECT_EQ(body["status"], "unhealthy");
  res = client->Get("/health?probe=true");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 503);
  res = client->Get("/health?probe=maybe");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
}

} // namespace
