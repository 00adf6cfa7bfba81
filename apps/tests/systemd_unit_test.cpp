// The systemd unit text: quoting of ExecStart= arguments and derived values.

#include <gtest/gtest.h>

#include "troupe/app/systemd_unit.hpp"

using troupe::app::render_systemd_unit;
using troupe::app::systemd_quote_arg;
using troupe::app::systemd_unit_name;
using troupe::app::systemd_unit_options;
using troupe::app::systemd_writable_paths;

namespace {

bool has_line(const std::string& text, const std::string& line) {
  return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

TEST(systemd_unit, quotes_exec_arguments) {
  EXPECT_EQ(systemd_quote_arg("/usr/bin/troupe"), "/usr/bin/troupe");
  EXPECT_EQ(systemd_quote_arg("a=50%"), "a=50%%");
  EXPECT_EQ(systemd_quote_arg("$HOME"), "$$HOME");
  EXPECT_EQ(systemd_quote_arg("a b"), "\"a b\"");
  EXPECT_EQ(systemd_quote_arg("say \"hi\" $x"), "\"say \\\"hi\\\" $$x\"");
  EXPECT_EQ(systemd_quote_arg("back\\slash"), "\"back\\\\slash\"");
  EXPECT_EQ(systemd_quote_arg("it's"), "\"it's\"");
  EXPECT_EQ(systemd_quote_arg(""), "\"\"");
  EXPECT_EQ(systemd_quote_arg(";"), "\";\"");
}

TEST(systemd_unit, names_are_unit_safe) {
  EXPECT_EQ(systemd_unit_name("shop floor/2"), "troupe-shop-floor-2.service");
  EXPECT_EQ(systemd_unit_name(""), "troupe-app.service");
  EXPECT_EQ(systemd_unit_name("a_b.c-d:e"), "troupe-a_b.c-d:e.service");
}

TEST(systemd_unit, renders_the_service) {
  systemd_unit_options o;
  o.app_name = "demo";
  o.exec = "/opt/my troupe/troupe";
  o.app_file = "/srv/demo.toml";
  o.sets = {"app.name=x y"};
  o.working_directory = "/srv";
  o.shutdown_timeout = std::chrono::milliseconds{10'001};
  o.environment = {{"TROUPE_APP__NAME", "a \"b\" 5%"}};
  auto unit = render_systemd_unit(o);
  EXPECT_TRUE(has_line(unit, "ExecStart=\"/opt/my troupe/troupe\" run "
                             "/srv/demo.toml --set \"app.name=x y\""))
    << unit;
  EXPECT_TRUE(has_line(unit, "TimeoutStopSec=16")) << unit; // ceil(10.001)+5
  EXPECT_TRUE(
    has_line(unit, "Environment=\"TROUPE_APP__NAME=a \\\"b\\\" 5%%\""));
  EXPECT_TRUE(has_line(unit, "WorkingDirectory=/srv"));
  EXPECT_TRUE(has_line(unit, "Wants=network-online.target"));
  EXPECT_TRUE(has_line(unit, "WantedBy=multi-user.target"));
  o.user = true;
  o.shutdown_timeout = std::chrono::seconds{3};
  unit = render_systemd_unit(o);
  EXPECT_TRUE(has_line(unit, "TimeoutStopSec=8"));
  EXPECT_TRUE(has_line(unit, "WantedBy=default.target"));
  EXPECT_EQ(unit.find("network-online"), std::string::npos);
}

TEST(systemd_unit, notify_watchdog_and_hardening) {
  systemd_unit_options o;
  o.app_name = "demo";
  o.exec = "/usr/bin/troupe";
  o.app_file = "/srv/demo.toml";
  o.working_directory = "/srv";
  o.writable_paths = {"/srv/log 50%"};
  auto unit = render_systemd_unit(o);
  EXPECT_TRUE(has_line(unit, "Type=notify")) << unit;
  EXPECT_TRUE(has_line(unit, "WatchdogSec=30"));
  EXPECT_TRUE(has_line(unit, "ProtectSystem=strict"));
  EXPECT_TRUE(has_line(unit, "ReadWritePaths=\"-/srv/log 50%%\"")) << unit;
  EXPECT_TRUE(has_line(unit, "PrivateTmp=yes"));
  o.watchdog = std::chrono::seconds{0};
  o.private_tmp = false;
  unit = render_systemd_unit(o);
  EXPECT_EQ(unit.find("WatchdogSec"), std::string::npos);
  EXPECT_TRUE(has_line(unit, "PrivateTmp=no"));
}

TEST(systemd_unit, writable_paths_from_the_config) {
  auto paths = systemd_writable_paths(
    "/srv/app", "logs/app.log",
    {"tcp://127.0.0.1:5", "ipc:///run/x/a.sock", "ipc://rel/b.sock",
     "ipc://@abstract", "ipc:///run/x/c.sock"});
  std::vector<std::string> want{"/run/x", "/srv/app/logs", "/srv/app/rel"};
  EXPECT_EQ(paths, want);
  EXPECT_TRUE(systemd_writable_paths("/srv", "", {}).empty());
}

} // namespace
