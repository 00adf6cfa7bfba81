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
