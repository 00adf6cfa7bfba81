// The framework's per-service families for /metrics, line by line.

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

TEST(app_metrics, service_statuses_become_labelled_families) {
  troupe::service_status a;
  a.name = "gen";
  a.state = troupe::service_state::running;
  a.messages_out = 12;
  a.publish_unacked = 3;
  a.held_back = true;
  troupe::service_status b;
  b.name = "sink";
  b.state = troupe::service_state::stopped;
  b.health = troupe::health_status::unhealthy;
  b.restarts = 2;
  troupe::exposition_writer w;
  troupe::app::write_service_metrics(w, {a, b});
  auto text = w.str();
  using v = std::vector<std::string>;
  EXPECT_EQ(lines_of(text, "troupe_service_up{"),
            (v{R"(troupe_service_up{service="gen"} 1)",
               R"(troupe_service_up{service="sink"} 0)"}));
  EXPECT_EQ(lines_of(text, "troupe_service_healthy{"),
            (v{R"(troupe_service_healthy{service="gen"} 1)",
               R"(troupe_service_healthy{service="sink"} 0)"}));
  EXPECT_EQ(
    lines_of(text, "troupe_service_state{service=\"sink\",state=\"stopped\"}"),
    (v{R"(troupe_service_state{service="sink",state="stopped"} 1)"}));
  EXPECT_EQ(
    lines_of(text, "troupe_service_state{service=\"sink\",state=\"running\"}"),
    (v{R"(troupe_service_state{service="sink",state="running"} 0)"}));
  EXPECT_EQ(
    lines_of(text, "troupe_service_messages_out_total{service=\"gen\"}"),
    (v{R"(troupe_service_messages_out_total{service="gen"} 12)"}));
  EXPECT_EQ(lines_of(text, "troupe_service_publish_unacked{service=\"gen\"}"),
            (v{R"(troupe_service_publish_unacked{service="gen"} 3)"}));
  EXPECT_EQ(lines_of(text, "troupe_service_held_back{service=\"gen\"}"),
            (v{R"(troupe_service_held_back{service="gen"} 1)"}));
  EXPECT_EQ(lines_of(text, "troupe_service_restarts_total{service=\"sink\"}"),
            (v{R"(troupe_service_restarts_total{service="sink"} 2)"}));
  // Every family has its header once.
  EXPECT_EQ(lines_of(text, "# TYPE troupe_service_up gauge").size(), 1u);
}

namespace {

// The value of the unlabelled series `name` in `text`; -1 when absent.
double series_value(const std::string& text, const std::string& name) {
  for (auto& line : lines_of(text, name.c_str()))
    if (line.rfind(name + " ", 0) == 0)
      return std::stod(line.substr(name.size() + 1));
  return -1;
}

std::string process_text() {
  troupe::exposition_writer w;
  troupe::app::write_process_metrics(w);
  return w.str();
}

} // namespace

TEST(app_metrics, process_memory_follows_the_heap) {
  auto before = process_text();
  EXPECT_EQ(
    lines_of(before, "# TYPE process_resident_memory_bytes"),
    std::vector<std::string>{"# TYPE process_resident_memory_bytes gauge"});
  EXPECT_EQ(lines_of(before, "# TYPE troupe_process_heap_bytes"),
            std::vector<std::string>{"# TYPE troupe_process_heap_bytes gauge"});
  auto heap = series_value(before, "troupe_process_heap_bytes");
  auto rss = series_value(before, "process_resident_memory_bytes");
  ASSERT_GT(heap, 0);
  // The test binary's code alone is resident.
  ASSERT_GT(rss, 1e6);
  // 32 MiB held and touched: both figures grow by about that much.
  constexpr size_t held = size_t{32} << 20;
  std::vector<char> block(held, 'x');
  auto during = process_text();
  // Read, so that no optimizer drops the block.
  ASSERT_EQ(block[held - 1], 'x');
  EXPECT_GE(series_value(during, "troupe_process_heap_bytes"), heap + held);
  EXPECT_GE(series_value(during, "process_resident_memory_bytes"),
            rss + 0.9 * held);
  block = {};
  block.shrink_to_fit();
  EXPECT_LT(series_value(process_text(), "troupe_process_heap_bytes"),
            heap + held);
}
