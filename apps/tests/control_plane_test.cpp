// The control plane's HTTP server over real sockets on 127.0.0.1, against a
// fake model: every route, status codes, auth, bad input, concurrency.

#include <thread>

#include <gtest/gtest.h>
#include <httplib.h>

#include "fake_control_model.hpp"

using nlohmann::json;
using troupe::app::constant_time_equal;
using troupe::app::control_server;
using troupe::app::parse_control_address;
using troupe::testing::fake_control_model;

namespace {

class control_plane : public ::testing::Test {
protected:
  void SetUp() override { start(); }

  void start(std::string token = {}) {
    server.stop();
    auto err = server.start(model, "127.0.0.1:0", std::move(token));
    ASSERT_FALSE(err) << *err;
    ASSERT_NE(server.port(), 0);
    client = std::make_unique<httplib::Client>("127.0.0.1", server.port());
    client->set_read_timeout(10);
  }

  static json body_of(const httplib::Result& res) {
    return json::parse(res->body);
  }

  fake_control_model model;
  control_server server;
  std::unique_ptr<httplib::Client> client;
};

TEST_F(control_plane, lists_services) {
  auto res = client->Get("/services");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
  auto body = body_of(res);
  ASSERT_TRUE(body.is_array());
  ASSERT_EQ(body.size(), 2U);
  EXPECT_EQ(body[0]["name"], "tick");
  EXPECT_EQ(body[0]["state"], "running");
  EXPECT_EQ(body[0]["messages_out"], 12);
  EXPECT_EQ(body[1]["last_error"], "boom");
}

TEST_F(control_plane, filters_and_pages_services) {
  auto res = client->Get("/services?state=stopped&type=counter&limit=1");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  {
    std::lock_guard<std::mutex> guard{model.mtx};
    auto& q = model.asked_queries.back();
    EXPECT_EQ(q.state, "stopped");
    EXPECT_EQ(q.type, "counter");
    EXPECT_EQ(q.limit, 1U);
    EXPECT_EQ(q.after, "");
  }
  auto body = body_of(res);
  ASSERT_EQ(body.size(), 1U);
  EXPECT_EQ(body[0]["name"], "count");
  EXPECT_EQ(res->get_header_value("X-Total-Count"), "1");
  EXPECT_FALSE(res->has_header("Link"));
  // A page that is not the last links to the next one.
  res = client->Get("/services?limit=1");
  ASSERT_TRUE(res);
  EXPECT_EQ(body_of(res).size(), 1U);
  EXPECT_EQ(res->get_header_value("X-Total-Count"), "2");
  EXPECT_EQ(res->get_header_value("X-Next-After"), "tick");
  EXPECT_EQ(res->get_header_value("Link"),
            R"(</services?limit=1&after=tick>; rel="next")");
  res = client->Get("/services?limit=1&after=tick");
  ASSERT_TRUE(res);
  body = body_of(res);
  ASSERT_EQ(body.size(), 1U);
  EXPECT_EQ(body[0]["name"], "count");
  EXPECT_FALSE(res->has_header("X-Next-After"));
  // Bad parameters answer 400 naming them.
  for (auto* bad : {"/services?state=runing", "/services?limit=0",
                    "/services?limit=x", "/services?after=ghost"}) {
    res = client->Get(bad);
    ASSERT_TRUE(res) << bad;
    EXPECT_EQ(res->status, 400) << bad;
  }
  res = client->Get("/services?state=runing");
  EXPECT_EQ(body_of(res)["error"],
            "state: no state named 'runing' (expected initialized, "
            "configured, starting, running, stopping, stopped or failed)");
  res = client->Get("/services?limit=-3");
  EXPECT_EQ(body_of(res)["error"],
            "limit: expected a whole number >= 1, got '-3'");
  res = client->Get("/services?after=ghost");
  EXPECT_EQ(body_of(res)["error"], "after: no service named 'ghost'");
}

TEST_F(control_plane, shows_one_service_or_404) {
  auto res = client->Get("/services/count");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(body_of(res)["state"], "stopped");
  res = client->Get("/services/nope");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
  EXPECT_EQ(body_of(res)["error"], "unknown service 'nope'");
  // Names arrive decoded.
  res = client->Get("/services/a%20b");
  ASSERT_TRUE(res);
  std::lock_guard<std::mutex> guard{model.mtx};
  EXPECT_EQ(model.asked_names.back(), "a b");
}

TEST_F(control_plane, health_is_200_when_ok_and_503_otherwise) {
  auto res = client->Get("/health");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(body_of(res)["status"], "healthy");
  model.app_health = troupe::health_status::degraded;
  res = client->Get("/health");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  model.app_health = troupe::health_status::unhealthy;
  res = client->Get("/health");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 503);
  auto body = body_of(res);
  EXPECT_EQ(body["ok"], false);
  EXPECT_EQ(body["services"][0]["checks"][0]["message"], "last beat 2s ago");
  // A healthy service is counted, listed only with ?services=all.
  model.app_health = troupe::health_status::healthy;
  res = client->Get("/health");
  ASSERT_TRUE(res);
  EXPECT_EQ(body_of(res)["services"], json::array());
  EXPECT_EQ(body_of(res)["summary"]["health"]["healthy"], 1);
  res = client->Get("/health?services=all");
  ASSERT_TRUE(res);
  EXPECT_EQ(body_of(res)["services"][0]["name"], "tick");
  res = client->Get("/health?services=some");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
}

TEST_F(control_plane, livez_and_readyz_probe_the_model) {
  auto res = client->Get("/livez");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(body_of(res), json::parse(R"({"live": true})"));
  res = client->Get("/readyz");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(body_of(res), json::parse(R"({"ready": true, "not_ready": []})"));
  model.app_health = troupe::health_status::degraded;
  res = client->Get("/readyz");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200); // degraded is ready
  model.app_health = troupe::health_status::unhealthy;
  res = client->Get("/readyz");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 503);
  EXPECT_EQ(body_of(res), json::parse(R"({"ready": false,
    "not_ready": [{"name": "tick", "reason": "unhealthy"}]})"));
  model.alive = false;
  res = client->Get("/livez");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 503);
  EXPECT_EQ(body_of(res), json::parse(R"({"live": false})"));
}

TEST_F(control_plane, cascade_is_a_query_parameter) {
  auto res = client->Post("/services/count/start?cascade=true");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  res = client->Delete("/services/count?cascade=true");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  res = client->Post("/services/count/stop?cascade=maybe");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_EQ(body_of(res)["error"], "cascade: expected true or false");
  std::lock_guard<std::mutex> guard{model.mtx};
  ASSERT_EQ(model.actions.size(), 1U);
  EXPECT_EQ(model.actions[0].second, "start+cascade");
  ASSERT_EQ(model.removed.size(), 1U);
  EXPECT_EQ(model.removed[0], "count+cascade");
}

TEST_F(control_plane, metrics_are_prometheus_text) {
  auto res = client->Get("/metrics");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"),
            "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(res->body.find("troupe_service_state{service=\"tick\""),
            std::string::npos);
}

TEST_F(control_plane, actions_reach_the_model) {
  auto res = client->Post("/services/count/start");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(body_of(res)["state"], "running");
  res = client->Post("/services/count/start");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 409);
  EXPECT_EQ(body_of(res)["error"], "'count' is already running");
  res = client->Post("/services/count/stop");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  res = client->Post("/services/count/restart");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  res = client->Post("/services/count/explode");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
  EXPECT_NE(body_of(res)["error"].get<std::string>().find("unknown action"),
            std::string::npos);
  std::lock_guard<std::mutex> guard{model.mtx};
  using p = std::pair<std::string, std::string>;
  EXPECT_EQ(model.actions, (std::vector<p>{{"count", "start"},
                                           {"count", "start"},
                                           {"count", "stop"},
                                           {"count", "restart"}}));
}

TEST_F(control_plane, adds_services_from_json) {
  json spec{{"name", "t2"}, {"type", "ticker"}, {"settings", {{"n", 1}}}};
  auto res = client->Post("/services", spec.dump(), "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 201);
  spec["type"] = "nope";
  res = client->Post("/services", spec.dump(), "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  auto body = body_of(res);
  EXPECT_EQ(body["errors"][0]["path"], "type");
  EXPECT_EQ(body["errors"][0]["message"], "unknown service type");
  std::lock_guard<std::mutex> guard{model.mtx};
  ASSERT_EQ(model.added.size(), 2U);
  EXPECT_EQ(model.added[0]["settings"]["n"], 1);
}

TEST_F(control_plane, rejects_malformed_bodies_before_the_model) {
  auto res = client->Post("/services", "{\"name\": ", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  auto msg = body_of(res)["error"].get<std::string>();
  EXPECT_EQ(msg.rfind("malformed JSON body: ", 0), 0U) << msg;
  res = client->Post("/services", "[1, 2]", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_NE(body_of(res)["error"].get<std::string>().find("JSON object"),
            std::string::npos);
  EXPECT_EQ(model.calls, 0);
}

TEST_F(control_plane, removes_services) {
  auto res = client->Delete("/services/tick");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  std::lock_guard<std::mutex> guard{model.mtx};
  EXPECT_EQ(model.removed, std::vector<std::string>{"tick"});
}

TEST_F(control_plane, unknown_routes_answer_json_404) {
  for (auto* path : {"/nope", "/services/tick/start/now", "/services/"}) {
    auto res = client->Get(path);
    ASSERT_TRUE(res) << path;
    EXPECT_EQ(res->status, 404) << path;
    EXPECT_EQ(body_of(res)["error"], std::string{"no route GET "} + path);
  }
  auto res = client->Put("/services/tick", "{}", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
  EXPECT_EQ(body_of(res)["error"], "no route PUT /services/tick");
  EXPECT_EQ(model.calls, 0);
}

TEST_F(control_plane, model_exceptions_answer_500) {
  model.throws = true;
  for (auto* path : {"/services", "/services/tick", "/health", "/metrics"}) {
    auto res = client->Get(path);
    ASSERT_TRUE(res) << path;
    EXPECT_EQ(res->status, 500) << path;
    EXPECT_EQ(body_of(res)["error"], "internal error: model exploded");
  }
  auto res = client->Post("/services/tick/stop");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 500);
  // Still serving afterwards.
  model.throws = false;
  res = client->Get("/services");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
}

TEST_F(control_plane, token_guards_every_route) {
  start("s3cret");
  auto res = client->Get("/services");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
  EXPECT_EQ(res->get_header_value("WWW-Authenticate"),
            "Bearer realm=\"troupe\"");
  EXPECT_NE(body_of(res)["error"].get<std::string>().find("unauthorized"),
            std::string::npos);
  res = client->Post("/services/tick/stop");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
  client->set_bearer_token_auth("s3cre");
  res = client->Get("/health");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
  client->set_bearer_token_auth("s3cret!");
  res = client->Get("/health");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
  EXPECT_EQ(model.calls, 0);
  client->set_bearer_token_auth("s3cret");
  res = client->Get("/health");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  res = client->Get("/nope"); // authorized, then unknown
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
}

TEST_F(control_plane, read_token_reads_admin_token_changes_public_paths_open) {
  server.stop();
  troupe::app::control_access access;
  access.token = "adm1n";
  access.read_token = "r3ad";
  access.public_paths = {"/health"};
  auto err = server.start(model, "127.0.0.1:0", access);
  ASSERT_FALSE(err) << *err;
  client = std::make_unique<httplib::Client>("127.0.0.1", server.port());
  // Public: no credential needed, but only for GET.
  auto res = client->Get("/health");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  res = client->Get("/services");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
  // The read token reads and cannot change anything.
  client->set_bearer_token_auth("r3ad");
  res = client->Get("/services");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  res = client->Post("/services/tick/stop");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 403);
  EXPECT_NE(body_of(res)["error"].get<std::string>().find("read_token"),
            std::string::npos);
  res = client->Delete("/services/tick");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 403);
  {
    std::lock_guard<std::mutex> guard{model.mtx};
    EXPECT_TRUE(model.actions.empty());
    EXPECT_TRUE(model.removed.empty());
  }
  // The admin token in any scheme case changes things.
  httplib::Client raw{"127.0.0.1", server.port()};
  for (const char* scheme : {"Bearer", "bearer", "BEARER"}) {
    res = raw.Post(
      "/services/tick/stop",
      httplib::Headers{{"Authorization", std::string{scheme} + " adm1n"}}, "",
      "text/plain");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200) << scheme;
  }
  res =
    raw.Get("/services", httplib::Headers{{"Authorization", "Basic adm1n"}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
}

TEST(control_server_start, refuses_an_open_control_plane_off_loopback) {
  fake_control_model model;
  control_server server;
  auto err = server.start(model, "0.0.0.0:0");
  ASSERT_TRUE(err);
  EXPECT_NE(err->find("refusing to serve the control plane on 0.0.0.0:0 "
                      "without a token"),
            std::string::npos)
    << *err;
  EXPECT_NE(err->find("allow_insecure_bind = true"), std::string::npos);
  EXPECT_FALSE(server.running());
  troupe::app::control_access access;
  access.allow_insecure_bind = true;
  err = server.start(model, "0.0.0.0:0", access);
  EXPECT_FALSE(err) << *err;
  server.stop();
  access = {};
  access.token = "t";
  err = server.start(model, "0.0.0.0:0", access);
  EXPECT_FALSE(err) << *err;
  server.stop();
  access = {};
  access.read_token = "r";
  err = server.start(model, "127.0.0.1:0", access);
  ASSERT_TRUE(err);
  EXPECT_NE(err->find("read_token needs a token"), std::string::npos) << *err;
  EXPECT_TRUE(troupe::app::is_loopback_host("127.0.0.1"));
  EXPECT_TRUE(troupe::app::is_loopback_host("127.1.2.3"));
  EXPECT_TRUE(troupe::app::is_loopback_host("::1"));
  EXPECT_TRUE(troupe::app::is_loopback_host("localhost"));
  EXPECT_FALSE(troupe::app::is_loopback_host("0.0.0.0"));
  EXPECT_FALSE(troupe::app::is_loopback_host("::"));
  EXPECT_FALSE(troupe::app::is_loopback_host("10.0.0.1"));
  EXPECT_FALSE(troupe::app::is_loopback_host("example.com"));
}

TEST_F(control_plane, serves_concurrent_clients) {
  constexpr int threads = 8;
  constexpr int per_thread = 25;
  std::atomic<int> ok{0};
  std::vector<std::thread> pool;
  pool.reserve(threads);
  for (int i = 0; i < threads; ++i)
    pool.emplace_back([&, i] {
      httplib::Client c{"127.0.0.1", server.port()};
      c.set_read_timeout(10);
      for (int j = 0; j < per_thread; ++j) {
        auto res = (i + j) % 2 == 0 ? c.Get("/services") : c.Get("/health");
        if (res && res->status == 200)
          ++ok;
      }
    });
  for (auto& t : pool)
    t.join();
  EXPECT_EQ(ok, threads * per_thread);
  EXPECT_EQ(model.calls, threads * per_thread);
}

TEST(control_server_start, reports_bad_and_busy_addresses) {
  fake_control_model model;
  control_server a;
  auto err = a.start(model, "127.0.0.1:http");
  ASSERT_TRUE(err);
  EXPECT_EQ(*err, "invalid address '127.0.0.1:http': expected HOST:PORT, "
                  "e.g. 127.0.0.1:8080");
  EXPECT_FALSE(a.running());
  ASSERT_FALSE(a.start(model, ":0"));
  EXPECT_EQ(a.address(), "127.0.0.1:" + std::to_string(a.port()));
  err = a.start(model, ":0");
  ASSERT_TRUE(err);
  EXPECT_EQ(err->rfind("control plane already running", 0), 0U);
  control_server b;
  auto busy = "127.0.0.1:" + std::to_string(a.port());
  err = b.start(model, busy);
  ASSERT_TRUE(err);
  EXPECT_EQ(err->rfind("cannot listen on " + busy + ": ", 0), 0U) << *err;
  // After stop() the port is free again and the server restartable.
  a.stop();
  a.stop();
  EXPECT_FALSE(a.running());
  EXPECT_EQ(a.port(), 0);
  auto again = b.start(model, busy);
  EXPECT_FALSE(again) << *again;
}

TEST(control_server_start, stop_right_after_start_returns) {
  fake_control_model model;
  for (int i = 0; i < 20; ++i) {
    control_server s;
    ASSERT_FALSE(s.start(model, "127.0.0.1:0"));
    s.stop();
  }
}

TEST(control_address, parses_host_and_port) {
  auto a = parse_control_address("127.0.0.1:8080");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 8080);
  a = parse_control_address("[::1]:0");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "::1");
  EXPECT_EQ(a->port, 0);
  a = parse_control_address(":9000");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "127.0.0.1");
  a = parse_control_address("9000");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 9000);
  a = parse_control_address("localhost:65535");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "localhost");
  for (auto* bad : {"", "host:", "host:65536", "host:-1", "host:80x", "::1:80",
                    "[]:80", "[::1:80", "host:123456"})
    EXPECT_FALSE(parse_control_address(bad)) << bad;
}

TEST(control_token, compares_whole_strings) {
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_TRUE(constant_time_equal("", ""));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "ab"));
  EXPECT_FALSE(constant_time_equal("ab", "abc"));
  EXPECT_FALSE(constant_time_equal("", "a"));
  EXPECT_FALSE(constant_time_equal(std::string_view{"a\0", 2}, "a"));
}

} // namespace
