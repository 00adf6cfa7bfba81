#define CAF_SUITE status_table

#include "troupe/app/status_table.hpp"

#include <caf/test/unit_test.hpp>

using namespace troupe;

CAF_TEST(the table aligns columns and lists every service) {
  service_status a;
  a.name = "ticker";
  a.type = "ticker";
  a.state = service_state::running;
  a.uptime = std::chrono::milliseconds{3000};
  a.messages_out = 12;
  service_status b;
  b.name = "counter-with-long-name";
  b.type = "counter";
  b.state = service_state::failed;
  b.health = health_status::fatal;
  b.errors = 2;
  b.uptime = std::chrono::seconds{3725};
  auto table = app::render_status_table({a, b});
  auto expected = std::string{
    "SERVICE                 TYPE     STATE    HEALTH   UPTIME  IN  OUT  DROP"
    "  ERR  RESTART\n"
    "ticker                  ticker   running  healthy  3.0s    0   12   0   "
    "  0    0\n"
    "counter-with-long-name  counter  failed   fatal    1h02m   0   0    0   "
    "  2    0\n"};
  CAF_CHECK_EQUAL(table, expected);
}

CAF_TEST(the status line carries the last error) {
  service_status st;
  st.name = "db";
  st.state = service_state::failed;
  st.health = health_status::fatal;
  st.last_error = "disk gone";
  CAF_CHECK_EQUAL(app::render_status_line(st),
                  "db: failed fatal in=0 out=0 dropped=0 errors=0 restarts=0 "
                  "last_error=\"disk gone\"");
  st.metadata = {{"version", "1.2"}, {"peer", "10.0.0.1"}};
  CAF_CHECK_EQUAL(app::render_status_line(st),
                  "db: failed fatal in=0 out=0 dropped=0 errors=0 restarts=0 "
                  "last_error=\"disk gone\" peer=\"10.0.0.1\" "
                  "version=\"1.2\"");
}

CAF_TEST(the summary sums by type and lists what needs attention) {
  std::vector<service_status> xs;
  for (int i = 0; i < 4; ++i) {
    service_status st;
    st.name = "c" + std::to_string(i);
    st.type = "counter";
    st.state = service_state::running;
    st.messages_in = 10;
    xs.push_back(st);
  }
  xs[2].state = service_state::failed;
  xs[2].health = health_status::fatal;
  xs[3].state = service_state::stopped;
  xs[3].stopped_hard = true;
  service_status t;
  t.name = "tick";
  t.type = "ticker";
  t.state = service_state::running;
  xs.push_back(t);
  auto text = app::render_type_summary(xs, 1);
  auto expected = std::string{
    "5 services (summed by type; troupe ctl status or GET /services lists "
    "each)\n"
    "TYPE     SERVICES  RUNNING  STOPPED  FAILED  OTHER  UNHEALTHY  IN  OUT  "
    "DROP  ERR  RESTART\n"
    "counter  4         2        1        1       0      1          40  0    "
    "0     0    0\n"
    "ticker   1         1        0        0       0      0          0   0    "
    "0     0    0\n"
    "2 need attention (the first 1 below):\n"
    "SERVICE  TYPE     STATE   HEALTH  UPTIME  IN  OUT  DROP  ERR  RESTART\n"
    "c2       counter  failed  fatal   0.0s    10  0    0     0    0\n"};
  CAF_CHECK_EQUAL(text, expected);
  auto lines = app::render_type_lines(xs);
  CAF_REQUIRE_EQUAL(lines.size(), 2u);
  CAF_CHECK_EQUAL(lines[0], "type counter: services=4 running=2 stopped=1 "
                            "failed=1 other=0 unhealthy=1 in=40 out=0 "
                            "dropped=0 errors=0 restarts=0");
}
