#define CAF_SUITE metrics
#include "troupe/actors/metrics.hpp"

#include <sstream>
#include <thread>

#include <caf/test/unit_test.hpp>

using namespace troupe;

namespace {

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in{text};
  for (std::string line; std::getline(in, line);)
    out.push_back(line);
  return out;
}

template <class F>
std::string thrown(F f) {
  try {
    f();
  } catch (const metric_error& e) {
    return e.what();
  }
  return "nothing thrown";
}

} // namespace

CAF_TEST(counters and gauges render in registration order) {
  metric_registry reg;
  auto& jobs = reg.counter("jobs_total", "Jobs done", {{"kind", "resize"}});
  auto& other = reg.counter("jobs_total", "Jobs done", {{"kind", "crop"}});
  auto& depth = reg.gauge("queue_depth", "Jobs waiting");
  jobs.inc();
  jobs.inc(2);
  other.inc(0.5);
  other.inc(-4); // ignored: counters only go up
  depth.set(7);
  depth.dec(2);
  // Same name, labels in another order: the same series.
  CAF_CHECK(&reg.counter("jobs_total", "Jobs done", {{"kind", "resize"}}) ==
            &jobs);
  auto expected = std::vector<std::string>{
    "# HELP jobs_total Jobs done",
    "# TYPE jobs_total counter",
    "jobs_total{kind=\"crop\"} 0.5",
    "jobs_total{kind=\"resize\"} 3",
    "# HELP queue_depth Jobs waiting",
    "# TYPE queue_depth gauge",
    "queue_depth 5",
  };
  CAF_CHECK_EQUAL(lines(reg.render()), expected);
}

CAF_TEST(extra labels come first and label values are escaped) {
  metric_registry reg;
  reg.gauge("temp", "Line one\nline \\two", {{"b", "x\"y"}, {"a", "c:\\d\ne"}})
    .set(-1.25);
  auto expected = std::vector<std::string>{
    "# HELP temp Line one\\nline \\\\two",
    "# TYPE temp gauge",
    "temp{service=\"db\",a=\"c:\\\\d\\ne\",b=\"x\\\"y\"} -1.25",
  };
  CAF_CHECK_EQUAL(lines(reg.render({{"service", "db"}})), expected);
}

CAF_TEST(histogram buckets are cumulative with sum and count) {
  metric_registry reg;
  auto& h = reg.histogram("latency_seconds", "Latency", {0.25, 0.5, 1},
                          {{"op", "get"}});
  for (double x : {0.125, 0.25, 0.5, 0.75, 2.0, 8.0})
    h.observe(x);
  CAF_CHECK_EQUAL(h.count(), 6u);
  CAF_CHECK_EQUAL(h.sum(), 11.625);
  auto expected = std::vector<std::string>{
    "# HELP latency_seconds Latency",
    "# TYPE latency_seconds histogram",
    "latency_seconds_bucket{op=\"get\",le=\"0.25\"} 2",
    "latency_seconds_bucket{op=\"get\",le=\"0.5\"} 3",
    "latency_seconds_bucket{op=\"get\",le=\"1\"} 4",
    "latency_seconds_bucket{op=\"get\",le=\"+Inf\"} 6",
    "latency_seconds_sum{op=\"get\"} 11.625",
    "latency_seconds_count{op=\"get\"} 6",
  };
  CAF_CHECK_EQUAL(lines(reg.render()), expected);
}

CAF_TEST(names and labels follow the Prometheus rules) {
  CAF_CHECK(valid_metric_name("a:b_c9"));
  CAF_CHECK(valid_metric_name("_x"));
  CAF_CHECK(!valid_metric_name("9x"));
  CAF_CHECK(!valid_metric_name("a-b"));
  CAF_CHECK(!valid_metric_name(""));
  CAF_CHECK(valid_label_name("_a1"));
  CAF_CHECK(!valid_label_name("a:b"));
  CAF_CHECK(!valid_label_name("__name"));
  CAF_CHECK(!valid_label_name("1a"));
  metric_registry reg;
  CAF_CHECK_EQUAL(thrown([&] { reg.counter("jobs-total", "x"); }),
                  "invalid metric name 'jobs-total': expected "
                  "[a-zA-Z_:][a-zA-Z0-9_:]*");
  CAF_CHECK_EQUAL(thrown([&] {
                    reg.counter("ok", "x", {{"__a", "1"}});
                  }),
                  "invalid label name '__a': expected [a-zA-Z_][a-zA-Z0-9_]*, "
                  "not starting with __ (and not 'le', reserved for buckets)");
  CAF_CHECK_EQUAL(thrown([&] {
                    reg.counter("ok", "x", {{"a", "1"}, {"a", "2"}});
                  }),
                  "label 'a' given twice");
  CAF_CHECK_EQUAL(thrown([&] {
                    reg.histogram("h", "x", {1, 1});
                  }),
                  "histogram bounds must be strictly increasing");
}

CAF_TEST(a name keeps its type and help) {
  metric_registry reg;
  reg.counter("jobs_total", "Jobs done");
  CAF_CHECK_EQUAL(thrown([&] { reg.gauge("jobs_total", "Jobs done"); }),
                  "metric 'jobs_total' is already a counter, not a gauge");
  CAF_CHECK_EQUAL(thrown([&] { reg.counter("jobs_total", "Other"); }),
                  "metric 'jobs_total' is already registered with help 'Jobs "
                  "done'");
  reg.histogram("h", "x", {1, 2});
  CAF_CHECK_EQUAL(thrown([&] {
                    reg.histogram("h", "x", {1, 3});
                  }),
                  "histogram 'h' is already registered with other buckets");
  CAF_CHECK_EQUAL(thrown([&] { reg.counter("h", "x"); }),
                  "metric 'h' is already a histogram, not a counter");
}

CAF_TEST(one writer merges registries and framework metrics) {
  metric_registry a;
  metric_registry b;
  a.counter("jobs_total", "Jobs done").inc(2);
  b.counter("jobs_total", "Jobs done").inc(5);
  b.gauge("up", "Wrong type for a framework name").set(1);
  exposition_writer w;
  CAF_CHECK(w.family("up", "Whether the service runs", metric_type::counter));
  w.sample({{"service", "a"}}, 1);
  for (auto& [name, reg] : {std::pair{"a", &a}, std::pair{"b", &b}}) {
    w.extra_labels({{"service", name}});
    reg->write(w);
  }
  auto expected = std::vector<std::string>{
    "# HELP up Whether the service runs",
    "# TYPE up counter",
    "up{service=\"a\"} 1",
    "# HELP jobs_total Jobs done",
    "# TYPE jobs_total counter",
    "jobs_total{service=\"a\"} 2",
    "jobs_total{service=\"b\"} 5",
  };
  CAF_CHECK_EQUAL(lines(w.str()), expected);
  CAF_CHECK_EQUAL(w.conflicts(), 1u); // b's gauge "up", skipped whole
  CAF_CHECK(!w.family("bad name", "", metric_type::gauge));
}

CAF_TEST(summing adds up one series over registries) {
  metric_registry a;
  metric_registry b;
  a.counter("jobs_total", "Jobs done", {{"kind", "x"}}).inc(2);
  b.counter("jobs_total", "Jobs done", {{"kind", "x"}}).inc(5);
  b.counter("jobs_total", "Jobs done", {{"kind", "y"}}).inc(1);
  a.histogram("lat", "Latency", {1}).observe(0.5);
  b.histogram("lat", "Latency", {1}).observe(2);
  exposition_writer w;
  w.extra_labels({{"service", "solo"}});
  a.write(w);
  w.summing(true);
  w.extra_labels({{"type", "worker"}});
  a.write(w);
  b.write(w);
  w.summing(false);
  auto expected = std::vector<std::string>{
    "# HELP jobs_total Jobs done",
    "# TYPE jobs_total counter",
    "jobs_total{service=\"solo\",kind=\"x\"} 2",
    "jobs_total{type=\"worker\",kind=\"x\"} 7",
    "jobs_total{type=\"worker\",kind=\"y\"} 1",
    "# HELP lat Latency",
    "# TYPE lat histogram",
    "lat_bucket{service=\"solo\",le=\"1\"} 1",
    "lat_bucket{service=\"solo\",le=\"+Inf\"} 1",
    "lat_sum{service=\"solo\"} 0.5",
    "lat_count{service=\"solo\"} 1",
    "lat_bucket{type=\"worker\",le=\"1\"} 1",
    "lat_bucket{type=\"worker\",le=\"+Inf\"} 2",
    "lat_sum{type=\"worker\"} 2.5",
    "lat_count{type=\"worker\"} 2",
  };
  CAF_CHECK_EQUAL(lines(w.str()), expected);
}

CAF_TEST(extra labels replace series labels of the same name) {
  metric_registry reg;
  reg.counter("x_total", "X", {{"service", "mine"}, {"k", "v"}}).inc();
  auto out = lines(reg.render({{"service", "db"}}));
  CAF_REQUIRE_EQUAL(out.size(), 3u);
  CAF_CHECK_EQUAL(out[2], "x_total{service=\"db\",k=\"v\"} 1");
}

CAF_TEST(values format as in the exposition format) {
  CAF_CHECK_EQUAL(format_metric_value(3), "3");
  CAF_CHECK_EQUAL(format_metric_value(0.1), "0.1");
  CAF_CHECK_EQUAL(format_metric_value(1e21), "1e+21");
  CAF_CHECK_EQUAL(format_metric_value(1.0 / 0.0), "+Inf");
  CAF_CHECK_EQUAL(format_metric_value(-1.0 / 0.0), "-Inf");
  CAF_CHECK_EQUAL(format_metric_value(0.0 / 0.0), "NaN");
}

CAF_TEST(concurrent increments from two threads sum exactly) {
  metric_registry reg;
  auto& c = reg.counter("hits_total", "Hits");
  auto& g = reg.gauge("level", "Level");
  auto& h = reg.histogram("sizes", "Sizes", {10});
  constexpr int n = 100000;
  auto work = [&] {
    for (int i = 0; i < n; ++i) {
      c.inc();
      g.inc(2);
      h.observe(i % 20);
      if (i % 1000 == 0)
        reg.render(); // reading concurrently is safe
    }
  };
  std::thread t1{work};
  std::thread t2{work};
  t1.join();
  t2.join();
  CAF_CHECK_EQUAL(c.value(), 2.0 * n);
  CAF_CHECK_EQUAL(g.value(), 4.0 * n);
  CAF_CHECK_EQUAL(h.count(), 2u * n);
  auto buckets = h.cumulative_counts();
  // 0..10 of every 20 observations are <= 10.
  CAF_CHECK_EQUAL(buckets.front(), 2u * 11 * (n / 20));
  CAF_CHECK_EQUAL(h.sum(), 2.0 * n / 20 * 190);
}

CAF_TEST(collectors write after the families and can be replaced or removed) {
  troupe::metric_registry reg;
  reg.counter("jobs_total", "Jobs").inc(2);
  int reads = 0;
  auto collector = [&reads](int v) {
    return [&reads, v](troupe::exposition_writer& w) {
      ++reads;
      w.family("kept_total", "Kept by someone else",
               troupe::metric_type::counter);
      w.sample({{"part", "x"}}, v);
    };
  };
  reg.add_collector("x", collector(5));
  CAF_CHECK_EQUAL(reg.render({{"service", "s"}}),
                  "# HELP jobs_total Jobs\n"
                  "# TYPE jobs_total counter\n"
                  "jobs_total{service=\"s\"} 2\n"
                  "# HELP kept_total Kept by someone else\n"
                  "# TYPE kept_total counter\n"
                  "kept_total{service=\"s\",part=\"x\"} 5\n");
  reg.add_collector("x", collector(7)); // replaces, not adds
  auto text = reg.render();
  CAF_CHECK(text.find("kept_total{part=\"x\"} 7\n") != std::string::npos);
  CAF_CHECK(text.find("} 5\n") == std::string::npos);
  CAF_CHECK_EQUAL(reads, 2);
  reg.remove_collector("x");
  CAF_CHECK(reg.render().find("kept_total") == std::string::npos);
  CAF_CHECK_EQUAL(reads, 2);
}
