#define CAF_SUITE demo_services

#include "troupe/app/demo_services.hpp"

#include <set>

#include <nlohmann/json.hpp>

#include "troupe/actors/service_host.hpp"
#include "troupe/actors/testing.hpp"
#include "troupe/actors/topic_bus.hpp"
#include "troupe/app/demo_work.hpp"
#include "troupe/bridge/envelope.hpp"

using namespace troupe;
using namespace std::chrono_literals;

namespace {

// Publishes what a test hands it and keeps every envelope under "echo.".
class probe : public service {
public:
  using interface =
    service_actor::extend<caf::reacts_to<std::string, bridge::envelope>>;

  auto handlers() {
    return std::make_tuple(
      [this](const std::string& topic, const bridge::envelope& e) {
        publish(topic, e);
      });
  }

  hook_result on_start() override {
    subscribe<bridge::envelope>(
      "echo.", [](const std::string& topic, const bridge::envelope& e) {
        seen.emplace_back(topic, e);
      });
    return hook_result::success();
  }

  static inline std::vector<std::pair<std::string, bridge::envelope>> seen;
};

// Plays the workers and the bridge for the generator and the aggregator:
// publishes what a test hands it, keeps every job and every stats report.
class work_probe : public service {
public:
  using interface =
    service_actor::extend<caf::reacts_to<std::string, nlohmann::json>>;

  auto handlers() {
    return std::make_tuple(
      [this](const std::string& topic, const nlohmann::json& j) {
        publish(topic, j);
      });
  }

  hook_result on_start() override {
    subscribe_message("jobs.", [](const std::string&, const caf::message& m) {
      jobs.push_back(m.get_as<nlohmann::json>(0).at("id").get<int64_t>());
      return true;
    });
    subscribe_message("demo.stats",
                      [](const std::string&, const caf::message& m) {
                        stats = m.get_as<nlohmann::json>(0);
                        return true;
                      });
    return hook_result::success();
  }

  static inline std::vector<int64_t> jobs;
  static inline nlohmann::json stats;
};

struct fixture : testing::service_fixture {
  bus_actor bus = spawn_topic_bus(sys);

  ~fixture() override {
    anon_send_exit(bus, caf::exit_reason::user_shutdown);
    run();
  }

  service_options opts(const std::string& name) {
    return service_options{name, name, bus};
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(demo_service_tests, fixture)

CAF_TEST(the counter counts every tick of the ticker) {
  auto cnt = spawn_service<app::counter>(sys, opts("counter"));
  auto tck = spawn_service<app::ticker>(sys, opts("ticker"));
  CAF_REQUIRE(configure(
    cnt, settings{config::table{{"stale_after", config::duration{1h}}}}));
  CAF_REQUIRE(start(cnt));
  CAF_REQUIRE(configure(
    tck, settings{config::table{{"period", config::duration{100ms}}}}));
  CAF_REQUIRE(start(tck));
  for (int i = 0; i < 5; ++i) {
    advance_time(100ms);
    consume_messages();
  }
  auto n = call<int64_t>(cnt, app::count_atom::value);
  CAF_REQUIRE(n);
  CAF_CHECK_EQUAL(*n, 5);
  CAF_CHECK_EQUAL(status(tck).messages_out, 5u);
  CAF_CHECK_EQUAL(status(cnt).messages_in, 6u); // 5 ticks + 1 count request
  CAF_REQUIRE(stop(tck));
  CAF_REQUIRE(stop(cnt));
}

CAF_TEST(the ticker schema rejects bad settings and lists every problem) {
  auto tck = spawn_service<app::ticker>(sys, opts("ticker"));
  auto r = configure(
    tck, settings{config::table{
           {"period", config::duration{0}}, {"topic", 5}, {"perod", "1s"}}});
  CAF_REQUIRE(!r);
  CAF_CHECK(is(r.error(), errc::invalid_settings));
  CAF_CHECK_EQUAL(describe(r.error()),
                  "troupe.invalid_settings: "
                  "settings of 'ticker': period: expected duration >= 1us, "
                  "got \"0s\"\n"
                  "settings of 'ticker': perod: unknown key 'perod' (did you "
                  "mean 'period'?)\n"
                  "settings of 'ticker': topic: expected string, got 5");
  CAF_CHECK_EQUAL(status(tck).state, service_state::initialized);
}

CAF_TEST(schema defaults reach on_configure and text durations are parsed) {
  auto tck = spawn_service<app::ticker>(sys, opts("ticker"));
  // "100ms" as a string, as a file or a test would write it.
  CAF_REQUIRE(configure(tck, settings{config::table{{"period", "100ms"}}}));
  CAF_REQUIRE(start(tck));
  advance_time(100ms);
  consume_messages();
  CAF_CHECK_EQUAL(status(tck).messages_out, 1u);
  CAF_REQUIRE(stop(tck));
}

CAF_TEST(an invalid reconfigure keeps the running settings) {
  auto tck = spawn_service<app::ticker>(sys, opts("ticker"));
  CAF_REQUIRE(configure(tck, settings{config::table{{"period", "100ms"}}}));
  CAF_REQUIRE(start(tck));
  auto r = reconfigure(tck, settings{config::table{{"period", "soon"}}});
  CAF_REQUIRE(!r);
  CAF_CHECK(is(r.error(), errc::invalid_settings));
  CAF_CHECK_EQUAL(status(tck).state, service_state::running);
  advance_time(100ms);
  consume_messages();
  CAF_CHECK_EQUAL(status(tck).messages_out, 1u);
  CAF_REQUIRE(stop(tck));
}

CAF_TEST(a counter without ticks turns degraded and recovers) {
  auto cnt = spawn_service<app::counter>(sys, opts("counter"));
  auto tck = spawn_service<app::ticker>(sys, opts("ticker"));
  CAF_REQUIRE(configure(
    cnt, settings{config::table{{"stale_after", config::duration{1s}}}}));
  CAF_REQUIRE(start(cnt));
  CAF_CHECK_EQUAL(health(cnt).overall, health_status::healthy);
  // No ticker yet: after 1.5 s of virtual time the check sees stale ticks.
  advance_time(500ms);
  consume_messages();
  advance_time(500ms);
  consume_messages();
  advance_time(500ms);
  consume_messages();
  auto h = health(cnt);
  CAF_CHECK_EQUAL(h.overall, health_status::degraded);
  CAF_REQUIRE_EQUAL(h.checks.size(), 1u);
  CAF_CHECK_EQUAL(h.checks[0].name, "ticks");
  // Ticks arrive again: the next check clears the degradation.
  CAF_REQUIRE(configure(
    tck, settings{config::table{{"period", config::duration{100ms}}}}));
  CAF_REQUIRE(start(tck));
  for (int i = 0; i < 5; ++i) {
    advance_time(100ms);
    consume_messages();
  }
  CAF_CHECK_EQUAL(health(cnt).overall, health_status::healthy);
  CAF_REQUIRE(stop(tck));
  CAF_REQUIRE(stop(cnt));
}

CAF_TEST(an idle degraded counter keeps no timer) {
  // A watchdog, not a poll: once degraded, nothing is scheduled until the
  // next tick (100,000 idle counters used to cost 100,000 timer messages a
  // second).
  auto cnt = spawn_service<app::counter>(sys, opts("counter"));
  CAF_REQUIRE(configure(
    cnt, settings{config::table{{"stale_after", config::duration{1s}}}}));
  CAF_REQUIRE(start(cnt));
  CAF_CHECK_EQUAL(sched.clock().schedule().size(), 1u);
  advance_time(1s);
  consume_messages();
  CAF_CHECK_EQUAL(health(cnt).overall, health_status::degraded);
  CAF_CHECK_EQUAL(sched.clock().schedule().size(), 0u);
  advance_time(10s);
  consume_messages();
  CAF_CHECK_EQUAL(health(cnt).overall, health_status::degraded);
  CAF_REQUIRE(stop(cnt));
}

CAF_TEST(a zero stale_after is refused by the schema before any hook) {
  auto cnt = spawn_service<app::counter>(sys, opts("counter"));
  auto r = configure(
    cnt, settings{config::table{{"stale_after", config::duration{0ns}}}});
  CAF_REQUIRE(!r);
  CAF_CHECK(is(r.error(), errc::invalid_settings));
  CAF_CHECK_EQUAL(status(cnt).state, service_state::initialized);
}

CAF_TEST(echo answers each request envelope with the same one retitled) {
  auto ech = spawn_service<app::echo>(sys, opts("echo"));
  auto prb = spawn_service<probe>(sys, opts("probe"));
  CAF_REQUIRE(configure(ech));
  CAF_REQUIRE(start(ech));
  CAF_REQUIRE(start(prb));
  probe::seen.clear();
  bridge::envelope req{"echo.request", R"({"n":1})", R"({"seq":7})",
                       "bridge/in"};
  anon_send(prb, std::string{"echo.request"}, req);
  anon_send(prb, std::string{"echo.requests"}, req); // not the exact topic
  consume_messages();
  // The probe sees its own two requests and exactly one reply.
  CAF_REQUIRE_EQUAL(probe::seen.size(), 3u);
  std::vector<bridge::envelope> replies;
  for (auto& [topic, e] : probe::seen)
    if (topic == "echo.reply")
      replies.push_back(e);
  CAF_REQUIRE_EQUAL(replies.size(), 1u);
  auto& reply = replies.front();
  CAF_CHECK_EQUAL(reply.topic, "echo.reply");
  CAF_CHECK_EQUAL(reply.payload, req.payload);
  CAF_CHECK_EQUAL(reply.meta, req.meta);
  CAF_CHECK_EQUAL(reply.via, ""); // so the bridge that got it sends it out
  CAF_CHECK_EQUAL(status(ech).messages_out, 1u);
  CAF_REQUIRE(stop(prb));
  CAF_REQUIRE(stop(ech));
}

CAF_TEST(the generator hands out unanswered jobs again when a worker is lost or
         gone) {
  auto gen = spawn_service<app::generator>(sys, opts("generator"));
  auto prb = spawn_service<work_probe>(sys, opts("probe"));
  work_probe::jobs.clear();
  CAF_REQUIRE(start(prb));
  CAF_REQUIRE(
    configure(gen, settings{config::table{{"rate", int64_t{100}},
                                          {"workers", int64_t{1}},
                                          {"results_topic", "res."}}}));
  CAF_REQUIRE(start(gen));
  for (int i = 0; i < 10; ++i) {
    advance_time(10ms);
    consume_messages();
  }
  auto first = work_probe::jobs;
  CAF_REQUIRE_GREATER_OR_EQUAL(first.size(), 4u);
  // Results for the first half come back (one of them twice).
  auto half = static_cast<int64_t>(first.size() / 2);
  for (int64_t id = 0; id < half; ++id)
    anon_send(prb, std::string{"res.0"}, nlohmann::json{{"id", id}});
  anon_send(prb, std::string{"res.0"}, nlohmann::json{{"id", 0}});
  consume_messages();
  work_probe::jobs.clear();
  anon_send(prb, std::string{"troupe.peer.lost"},
            nlohmann::json{{"src", "w1"}, {"link", "results"}});
  consume_messages();
  // Exactly the unanswered ones go out again, nothing else.
  std::set<int64_t> again(work_probe::jobs.begin(), work_probe::jobs.end());
  std::set<int64_t> expected(first.begin() + half, first.end());
  CAF_CHECK_EQUAL(work_probe::jobs.size(), expected.size());
  CAF_CHECK(again == expected);
  // A worker process that stopped on purpose (said goodbye) may have left
  // jobs unanswered too: the same again.
  work_probe::jobs.clear();
  anon_send(prb, std::string{"troupe.peer.gone"},
            nlohmann::json{{"src", "w2"}, {"link", "results"}});
  consume_messages();
  std::set<int64_t> after_gone(work_probe::jobs.begin(),
                               work_probe::jobs.end());
  CAF_CHECK_EQUAL(work_probe::jobs.size(), expected.size());
  CAF_CHECK(after_gone == expected);
  // A stop waits for the jobs still out; their results (replies) end it.
  auto rh = begin_stop(gen, 10s);
  CAF_CHECK_EQUAL(status(gen).state, service_state::stopping);
  for (auto id : expected)
    anon_send(prb, std::string{"res.0"}, nlohmann::json{{"id", id}});
  consume_messages();
  auto answered = stop_answer(rh);
  CAF_CHECK_EQUAL(answered, service_state::stopped);
  CAF_CHECK(!status(gen).stopped_hard);
  // Without results_topic nothing is kept: a lost worker changes nothing.
  auto plain = spawn_service<app::generator>(sys, opts("plain"));
  CAF_REQUIRE(
    configure(plain, settings{config::table{{"workers", int64_t{1}}}}));
  CAF_REQUIRE(start(plain));
  advance_time(10ms);
  consume_messages();
  work_probe::jobs.clear();
  anon_send(prb, std::string{"troupe.peer.lost"},
            nlohmann::json{{"src", "w1"}, {"link", "results"}});
  consume_messages();
  CAF_CHECK(work_probe::jobs.empty());
  CAF_REQUIRE(stop(plain));
  CAF_REQUIRE(stop(prb));
}

CAF_TEST(a new generator rate applies from the moment of the change) {
  auto gen = spawn_service<app::generator>(sys, opts("generator"));
  auto prb = spawn_service<work_probe>(sys, opts("probe"));
  CAF_REQUIRE(start(prb));
  CAF_REQUIRE(configure(gen, settings{config::table{{"rate", int64_t{1000}},
                                                    {"workers", int64_t{1}}}}));
  CAF_REQUIRE(start(gen));
  work_probe::jobs.clear();
  auto tick = [this](int n) {
    for (int i = 0; i < n; ++i) {
      advance_time(10ms);
      consume_messages();
    }
  };
  tick(100); // 1 s at 1000/s
  CAF_CHECK_GREATER_OR_EQUAL(work_probe::jobs.size(), 950u);
  CAF_REQUIRE(reconfigure(
    gen,
    settings{config::table{{"rate", int64_t{100}}, {"workers", int64_t{1}}}}));
  work_probe::jobs.clear();
  tick(100); // 1 s at 100/s: about 100, not nothing until 10 s have passed
  CAF_CHECK_GREATER_OR_EQUAL(work_probe::jobs.size(), 90u);
  CAF_CHECK_LESS_OR_EQUAL(work_probe::jobs.size(), 110u);
  // And up again: no burst to catch up with the time at the lower rate.
  CAF_REQUIRE(reconfigure(
    gen,
    settings{config::table{{"rate", int64_t{1000}}, {"workers", int64_t{1}}}}));
  work_probe::jobs.clear();
  tick(10); // 100 ms at 1000/s
  CAF_CHECK_GREATER_OR_EQUAL(work_probe::jobs.size(), 90u);
  CAF_CHECK_LESS_OR_EQUAL(work_probe::jobs.size(), 110u);
  CAF_REQUIRE(stop(gen));
  CAF_REQUIRE(stop(prb));
}

CAF_TEST(the aggregator counts each job id once and reports duplicates) {
  auto agg = spawn_service<app::aggregator>(sys, opts("aggregator"));
  auto prb = spawn_service<work_probe>(sys, opts("probe"));
  CAF_REQUIRE(start(prb));
  CAF_REQUIRE(configure(
    agg, settings{config::table{{"topic", "res."},
                                {"report_interval", config::duration{1s}}}}));
  CAF_REQUIRE(start(agg));
  // Out of order, a failed one, duplicates of both kinds.
  for (int64_t id : {0, 2, 1, 2, 0, 3, 5})
    anon_send(prb, std::string{"res.0"},
              nlohmann::json{{"id", id}, {"worker", 0}});
  anon_send(prb, std::string{"res.0"},
            nlohmann::json{{"id", 4}, {"worker", 0}, {"failed", true}});
  anon_send(prb, std::string{"res.0"},
            nlohmann::json{{"id", 4}, {"worker", 1}});
  consume_messages();
  work_probe::stats = nullptr;
  advance_time(1s);
  consume_messages();
  CAF_REQUIRE(work_probe::stats.is_object());
  CAF_CHECK_EQUAL(work_probe::stats["results"].get<int64_t>(), 5); // 0-3, 5
  CAF_CHECK_EQUAL(work_probe::stats["failed"].get<int64_t>(), 1);  // 4
  CAF_CHECK_EQUAL(work_probe::stats["duplicates"].get<int64_t>(), 3);
  CAF_REQUIRE(stop(agg));
  CAF_REQUIRE(stop(prb));
}

CAF_TEST_FIXTURE_SCOPE_END()
