#pragma once

// A control_model with canned answers that records what it was asked, for
// tests of the HTTP server and of `troupe ctl`.

#include <atomic>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "troupe/app/control_plane.hpp"
#include "troupe/app/status_json.hpp"

namespace troupe::testing {

class fake_control_model : public app::control_model {
public:
  fake_control_model() {
    service_status tick;
    tick.name = "tick";
    tick.type = "ticker";
    tick.state = service_state::running;
    tick.messages_out = 12;
    service_status count;
    count.name = "count";
    count.type = "counter";
    count.state = service_state::stopped;
    count.last_error = "boom";
    statuses = {tick, count};
  }

  app::service_page services(const app::service_query& q) override {
    calls++;
    std::lock_guard<std::mutex> guard{mtx};
    maybe_throw();
    asked_queries.push_back(q);
    return app::select_services(statuses, q);
  }

  std::optional<nlohmann::json> service(const std::string& name) override {
    calls++;
    std::lock_guard<std::mutex> guard{mtx};
    maybe_throw();
    asked_names.push_back(name);
    for (auto& st : statuses)
      if (st.name == name)
        return nlohmann::json(st);
    return std::nullopt;
  }

  app::control_health health(bool all) override {
    calls++;
    std::lock_guard<std::mutex> guard{mtx};
    maybe_throw();
    health_report r;
    r.overall = app_health;
    r.checks.push_back({"heartbeat", app_health, "last beat 2s ago", {}});
    auto body = app::app_health_json({{"tick", r}}, all);
    return {body["ok"].get<bool>(), body};
  }

  std::string metrics_text() override {
    calls++;
    std::lock_guard<std::mutex> guard{mtx};
    maybe_throw();
    return "# TYPE troupe_service_state gauge\n"
           "troupe_service_state{service=\"tick\",state=\"running\"} 1\n";
  }

  bool live() override {
    calls++;
    return alive;
  }

  app::control_result action(const std::string& name, app::control_action what,
                             bool cascade) override {
    calls++;
    std::lock_guard<std::mutex> guard{mtx};
    maybe_throw();
    actions.emplace_back(name, to_string(what) + (cascade ? "+cascade" : ""));
    for (auto& st : statuses)
      if (st.name == name) {
        if (what == app::control_action::start &&
            st.state == service_state::running)
          return app::control_error(409, "'" + name + "' is already running");
        st.state = what == app::control_action::stop ? service_state::stopped
                                                     : service_state::running;
        return {200, nlohmann::json(st)};
      }
    return app::control_error(404, "unknown service '" + name + "'");
  }

  app::control_result add(const nlohmann::json& spec) override {
    calls++;
    std::lock_guard<std::mutex> guard{mtx};
    maybe_throw();
    added.push_back(spec);
    if (spec.value("type", std::string{}) != "ticker")
      return app::control_invalid("invalid service spec",
                                  {{"type", "unknown service type"}});
    return {201, nlohmann::json{{"message", "added"}}};
  }

  app::control_result remove(const std::string& name, bool cascade) override {
    calls++;
    std::lock_guard<std::mutex> guard{mtx};
    maybe_throw();
    removed.push_back(name + (cascade ? "+cascade" : ""));
    return {200, nlohmann::json::object()};
  }

  /// Queries services() was asked.
  std::vector<app::service_query> asked_queries;
  /// Answers of services().
  std::vector<service_status> statuses;
  /// Overall health reported by health().
  health_status app_health = health_status::healthy;
  /// Answer of live().
  std::atomic<bool> alive{true};
  /// Makes every call throw.
  std::atomic<bool> throws{false};
  /// Number of model calls.
  std::atomic<int> calls{0};
  std::vector<std::string> asked_names;
  std::vector<std::pair<std::string, std::string>> actions;
  std::vector<nlohmann::json> added;
  std::vector<std::string> removed;
  std::mutex mtx;

private:
  void maybe_throw() {
    if (throws)
      throw std::runtime_error("model exploded");
  }
};

} // namespace troupe::testing
