// `troupe ctl` as a library call against a real control plane on 127.0.0.1:
// output, exit codes, settings, auth and an unreachable server.

#include <sstream>

#include <gtest/gtest.h>

#include "fake_control_model.hpp"
#include "troupe/app/control_client.hpp"

using nlohmann::json;
using troupe::app::build_ctl_settings;
using troupe::app::ctl_command;
using troupe::app::ctl_exit;
using troupe::app::ctl_options;
using troupe::app::ctl_request;
using troupe::app::run_ctl;
using troupe::testing::fake_control_model;

namespace {

class ctl : public ::testing::Test {
protected:
  void SetUp() override {
    auto err = server.start(model, "127.0.0.1:0", "tok");
    ASSERT_FALSE(err) << *err;
    opts.url = "http://127.0.0.1:" + std::to_string(server.port());
    opts.token = "tok";
  }

  ctl_exit run(ctl_command cmd, std::string name = {}) {
    ctl_request req;
    req.command = cmd;
    req.name = std::move(name);
    return run(req);
  }

  ctl_exit run(const ctl_request& req) {
    out.str({});
    err.str({});
    return run_ctl(opts, req, out, err);
  }

  fake_control_model model;
  troupe::app::control_server server;
  ctl_options opts;
  std::ostringstream out;
  std::ostringstream err;
};

bool contains(const std::ostringstream& s, const std::string& what) {
  return s.str().find(what) != std::string::npos;
}

TEST_F(ctl, status_prints_a_table) {
  EXPECT_EQ(run(ctl_command::status), ctl_exit::ok) << err.str();
  auto lines = out.str();
  EXPECT_EQ(lines.rfind("SERVICE  TYPE     STATE    HEALTH", 0), 0U) << lines;
  EXPECT_TRUE(contains(out, "\ntick     ticker   running  healthy"));
  EXPECT_TRUE(contains(out, "\ncount    counter  stopped  healthy"));
}

TEST_F(ctl, status_json_is_the_raw_body) {
  opts.json = true;
  EXPECT_EQ(run(ctl_command::status), ctl_exit::ok);
  auto body = json::parse(out.str());
  ASSERT_TRUE(body.is_array());
  EXPECT_EQ(body[1]["name"], "count");
}

TEST_F(ctl, status_of_one_service_shows_details) {
  EXPECT_EQ(run(ctl_command::status, "count"), ctl_exit::ok) << err.str();
  EXPECT_TRUE(contains(out, "count    counter  stopped")) << out.str();
  EXPECT_TRUE(contains(out, "last error: boom\n"));
  EXPECT_EQ(run(ctl_command::status, "nope"), ctl_exit::refused);
  EXPECT_EQ(err.str(),
            "troupe ctl: status nope: HTTP 404: unknown service 'nope'\n");
  EXPECT_EQ(out.str(), "");
}

TEST_F(ctl, health_exit_code_follows_the_app) {
  EXPECT_EQ(run(ctl_command::health), ctl_exit::ok) << err.str();
  EXPECT_TRUE(contains(out, "app: healthy, ready\n"
                            "1 services: running 1; healthy 1\n"))
    << out.str();
  // A healthy service is counted, not listed.
  EXPECT_FALSE(contains(out, "heartbeat")) << out.str();
  model.app_health = troupe::health_status::unhealthy;
  EXPECT_EQ(run(ctl_command::health), ctl_exit::refused);
  EXPECT_TRUE(contains(out, "app: unhealthy, not ready: tick unhealthy\n"))
    << out.str();
  EXPECT_TRUE(contains(out, "heartbeat  unhealthy  last beat 2s ago"))
    << out.str();
  opts.json = true;
  EXPECT_EQ(run(ctl_command::health), ctl_exit::refused);
  EXPECT_EQ(json::parse(out.str())["ok"], false);
}

TEST_F(ctl, actions_print_the_new_state) {
  EXPECT_EQ(run(ctl_command::start, "count"), ctl_exit::ok) << err.str();
  EXPECT_EQ(out.str().rfind("count: running healthy", 0), 0U) << out.str();
  EXPECT_EQ(run(ctl_command::start, "count"), ctl_exit::refused);
  EXPECT_EQ(err.str(),
            "troupe ctl: start count: HTTP 409: 'count' is already running\n");
  EXPECT_EQ(run(ctl_command::stop, "count"), ctl_exit::ok);
  EXPECT_EQ(run(ctl_command::restart, "count"), ctl_exit::ok);
  EXPECT_EQ(run(ctl_command::restart, ""), ctl_exit::usage);
  EXPECT_EQ(err.str(), "troupe ctl restart: a service name is required\n");
  std::lock_guard<std::mutex> guard{model.mtx};
  EXPECT_EQ(model.actions.size(), 4U);
}

TEST_F(ctl, add_sends_typed_settings) {
  ctl_request req;
  req.command = ctl_command::add;
  req.name = "t2";
  req.type = "ticker";
  req.settings_json = R"({"topic": "a", "nested": {"x": 1}})";
  req.sets = {"period=1s", "count=5", "on=true", "nested.y=\"q\"",
              "list=[1,2]"};
  EXPECT_EQ(run(req), ctl_exit::ok) << err.str();
  EXPECT_EQ(out.str(), "added\n");
  req.type = "bogus";
  EXPECT_EQ(run(req), ctl_exit::refused);
  EXPECT_EQ(err.str(), "troupe ctl: add t2: HTTP 400: invalid service spec\n"
                       "  type: unknown service type\n");
  std::lock_guard<std::mutex> guard{model.mtx};
  ASSERT_EQ(model.added.size(), 2U);
  EXPECT_EQ(model.added[0],
            json::parse(R"({"name": "t2", "type": "ticker", "settings":
              {"topic": "a", "period": "1s", "count": 5, "on": true,
               "nested": {"x": 1, "y": "q"}, "list": [1, 2]}})"));
}

TEST_F(ctl, bad_settings_are_usage_errors) {
  ctl_request req;
  req.command = ctl_command::add;
  req.name = "t2";
  req.type = "ticker";
  req.sets = {"novalue"};
  EXPECT_EQ(run(req), ctl_exit::usage);
  EXPECT_EQ(err.str(), "troupe ctl add: --set novalue: expected key=value\n");
  req.sets = {};
  req.settings_json = "[1]";
  EXPECT_EQ(run(req), ctl_exit::usage);
  req.settings_json = "";
  req.type = "";
  EXPECT_EQ(run(req), ctl_exit::usage);
  EXPECT_EQ(model.calls, 0);
}

TEST_F(ctl, remove_and_metrics) {
  EXPECT_EQ(run(ctl_command::remove, "tick"), ctl_exit::ok) << err.str();
  EXPECT_EQ(out.str(), "ok\n");
  EXPECT_EQ(run(ctl_command::metrics), ctl_exit::ok);
  EXPECT_TRUE(contains(out, "troupe_service_state{service=\"tick\""));
}

TEST_F(ctl, token_is_required) {
  opts.token.clear();
  EXPECT_EQ(run(ctl_command::status), ctl_exit::refused);
  EXPECT_TRUE(contains(err, "HTTP 401: unauthorized")) << err.str();
  EXPECT_TRUE(contains(err, "pass --token or set TROUPE_CONTROL_TOKEN"));
  opts.token = "wrong";
  EXPECT_EQ(run(ctl_command::status), ctl_exit::refused);
}

TEST_F(ctl, url_forms) {
  opts.url = "127.0.0.1:" + std::to_string(server.port()) + "/";
  EXPECT_EQ(run(ctl_command::status), ctl_exit::ok) << err.str();
  opts.url = "http://127.0.0.1:1/some/path";
  EXPECT_EQ(run(ctl_command::status), ctl_exit::usage);
  EXPECT_TRUE(contains(err, "invalid URL")) << err.str();
  opts.url.clear();
  EXPECT_EQ(run(ctl_command::status), ctl_exit::usage);
  EXPECT_TRUE(contains(err, "pass --url http://127.0.0.1:PORT"));
}

TEST_F(ctl, unreachable_server_exits_3) {
  server.stop(); // the port was just ours: nothing listens there now
  EXPECT_EQ(run(ctl_command::status), ctl_exit::unreachable);
  EXPECT_TRUE(contains(err, "cannot reach the control plane at " + opts.url))
    << err.str();
}

TEST(ctl_settings, build_nested_objects) {
  json out;
  EXPECT_FALSE(build_ctl_settings("", {"a.b.c=1", "a.b.d=x"}, out));
  EXPECT_EQ(out, json::parse(R"({"a": {"b": {"c": 1, "d": "x"}}})"));
  auto err = build_ctl_settings("", {"a=1", "a.b=2"}, out);
  ASSERT_TRUE(err);
  EXPECT_EQ(*err, "--set a.b=2: 'a.b' is not a key path (or crosses a "
                  "non-table value)");
  EXPECT_TRUE(build_ctl_settings("", {"a..b=1"}, out));
  EXPECT_TRUE(build_ctl_settings("", {"=1"}, out));
  EXPECT_TRUE(build_ctl_settings("{", {}, out));
  // An object given to --set stays a string: objects go through --settings.
  EXPECT_FALSE(build_ctl_settings("", {"a={\"x\":1}"}, out));
  EXPECT_EQ(out["a"], "{\"x\":1}");
}

} // namespace
