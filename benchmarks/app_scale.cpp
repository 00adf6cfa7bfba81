// app.N: N idle services in a real app (`troupe run` on a generated file
// of N `counter` services, no dependencies between them), beside raw CAF
// spawning and ending N actors, in the same run, alternating repetitions.
//
// troupe: start is from launching the process to its "app 'scale' running"
// line (loading the file included), drain from SIGTERM to its exit (exit 0
// required), memory the process's peak RSS minus that of the same app with
// one service, per service, and its RSS once running (after its first
// status print, after which troupe gives freed heap pages back) minus that
// of the 1-service app, per service. raw: start is spawning N stateful
// actors until each answered one request, drain is sending each an exit
// until every down message came, both with 256 requests or exits in
// flight at a time as troupe's supervisor keeps (CAF 0.17 searches an
// actor's pending requests linearly: all at once is N^2), memory the heap
// in use per actor (as lifecycle.memory).
//
// app.N.control: the same with the HTTP control plane on (127.0.0.1, any
// port), and, once running, the time one GET of /health, /metrics and
// /services?limit=100 takes (no raw counterpart: the raw column is 0), and
// the heap per service: `troupe_process_heap_bytes` of that /metrics answer
// minus that of the 1-service app, per service, beside the raw heap.

#include "scenarios.hpp"

#include <chrono>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <sys/wait.h>
#include <vector>

#include <httplib.h>

#include "actor_setup.hpp"
#include "app_process.hpp"
#include "local_actors.hpp"
#include "measure.hpp"
#include "peer_process.hpp"

namespace troupe::bench {

namespace {

using std::chrono::seconds;

// Generous: 100,000 services on a loaded 2-core machine.
constexpr auto app_timeout = std::chrono::milliseconds{600'000};

struct app_figures {
  double start_s = 0;
  double drain_s = 0;
  double peak_rss_bytes = 0;
  /// troupe: VmRSS once running; raw: as peak_rss_bytes.
  double rss_bytes = 0;
  /// With the control plane on: seconds one GET of each route took.
  double health_s = 0;
  double metrics_s = 0;
  double services_s = 0;
  /// With the control plane on: troupe_process_heap_bytes from /metrics
  /// once running; raw: the heap in use by the actors.
  double heap_bytes = 0;
};

std::string write_app(const temp_dir& dir, uint64_t n, bool control) {
  auto path = dir.path() + "/scale.toml";
  std::ofstream out{path};
  out << "[app]\nname = \"scale\"\nstatus_interval = \"1h\"\n"
         "shutdown_timeout = \"600s\"\n";
  if (control)
    out << "[control]\nhttp = \"127.0.0.1:0\"\n";
  for (uint64_t i = 0; i < n; ++i)
    // Their state changes at warn: three info lines each would be measured.
    out << "[services.c" << i
        << "]\ntype = \"counter\"\nlog_level = \"warn\"\n";
  if (!out)
    throw std::runtime_error("cannot write " + path);
  return path;
}

// Seconds one GET of `path` takes; throws unless it answers 200. The body
// goes to `body` when given.
double timed_get(httplib::Client& http, const std::string& path,
                 std::string* body = nullptr) {
  stopwatch took;
  auto res = http.Get(path.c_str());
  if (!res || res->status != 200)
    throw std::runtime_error("GET " + path + ": " +
                             (res ? "HTTP " + std::to_string(res->status)
                                  : httplib::to_string(res.error())));
  auto secs = took.seconds();
  if (body != nullptr)
    *body = std::move(res->body);
  return secs;
}

// The value of the unlabelled series `name` in a /metrics body.
double series_value(const std::string& text, const std::string& name) {
  auto at = text.find("\n" + name + " ");
  if (at == std::string::npos)
    throw std::runtime_error("/metrics has no series " + name);
  return std::stod(text.substr(at + name.size() + 2));
}

app_figures run_app(const run_options& opts, uint64_t n, bool control) {
  auto exe = find_troupe(opts.troupe_path);
  temp_dir dir;
  auto file = write_app(dir, n, control);
  app_figures f;
  stopwatch started;
  app_process app{exe, {"run", file}, dir.path() + "/troupe.log"};
  app.await_log("app 'scale' running", app_timeout);
  f.start_s = started.seconds();
  f.peak_rss_bytes = static_cast<double>(peak_rss_bytes(app.pid()));
  // The first status print ("status c0: ..." or "status type counter:
  // ..."): written once the memory of loading and starting was released.
  app.await_log("status ", app_timeout);
  f.rss_bytes = static_cast<double>(rss_bytes(app.pid()));
  if (control) {
    // "... control plane on http://127.0.0.1:PORT"
    auto line = app.await_log("control plane on http://", app_timeout);
    auto at = line.find("http://") + 7;
    auto colon = line.find(':', at);
    httplib::Client http{line.substr(at, colon - at),
                         std::stoi(line.substr(colon + 1))};
    http.set_read_timeout(std::chrono::duration_cast<seconds>(app_timeout));
    // /metrics first: the heap before /health's requests (CAF keeps each
    // request's timeout until it fires, answered or not).
    std::string metrics;
    f.metrics_s = timed_get(http, "/metrics", &metrics);
    f.heap_bytes = series_value(metrics, "troupe_process_heap_bytes");
    f.health_s = timed_get(http, "/health");
    f.services_s = timed_get(http, "/services?limit=100");
  }
  stopwatch drained;
  auto status = app.stop(
    std::chrono::duration_cast<std::chrono::milliseconds>(app_timeout));
  f.drain_s = drained.seconds();
  if (!status)
    throw std::runtime_error("troupe did not exit after SIGTERM (killed); its "
                             "output ends:\n" +
                             app.log_tail());
  if (!WIFEXITED(*status) || WEXITSTATUS(*status) != 0)
    throw std::runtime_error(
      "troupe exited with status " + std::to_string(WEXITSTATUS(*status)) +
      " after SIGTERM; its output ends:\n" + app.log_tail());
  return f;
}

struct watcher_state {
  std::vector<caf::actor> hs;
  size_t next = 0;
  uint64_t left = 0;
};

// Ends every actor of `hs`, 256 at a time as troupe's supervisor stops
// services: monitors one, sends it an exit, and ends the next for each
// down message; quits once all are down.
caf::behavior exit_watcher(caf::stateful_actor<watcher_state>* self,
                           std::vector<caf::actor> hs,
                           const std::shared_ptr<countdown>& done) {
  constexpr size_t window = 256;
  auto& st = self->state;
  st.hs = std::move(hs);
  st.left = st.hs.size();
  auto end_next = [self] {
    auto& st = self->state;
    if (st.next == st.hs.size())
      return;
    auto& h = st.hs[st.next++];
    self->monitor(h);
    self->send_exit(h, caf::exit_reason::user_shutdown);
  };
  self->set_down_handler([self, done, end_next](caf::down_msg&) {
    done->arrive();
    if (--self->state.left == 0)
      self->quit();
    else
      end_next();
  });
  for (size_t k = 0; k < window; ++k)
    end_next();
  return {[](count_atom) { return uint64_t{0}; }};
}

app_figures run_raw(const run_options& opts, uint64_t n) {
  return in_fresh_system(opts.threads, [&](auto& sys, auto& guard) {
    app_figures f;
    guard.reserve(n);
    std::vector<caf::actor> hs;
    hs.reserve(n);
    auto before = live_heap_bytes();
    stopwatch started;
    for (uint64_t i = 0; i < n; ++i)
      hs.push_back(guard.add(sys.spawn(raw_sink<int>)));
    ask_all<uint64_t>(sys, hs, "count", count_atom::value);
    f.start_s = started.seconds();
    auto after = live_heap_bytes();
    f.peak_rss_bytes =
      after > before ? static_cast<double>(after - before) : 0.0;
    f.rss_bytes = f.peak_rss_bytes;
    f.heap_bytes = f.peak_rss_bytes;
    auto done = std::make_shared<countdown>(n);
    stopwatch drained;
    sys.spawn(exit_watcher, hs, done);
    done->wait("raw exits");
    f.drain_s = drained.seconds();
    return f;
  });
}

result app_scale(const run_options& opts, uint64_t n, bool control) {
  result r;
  r.name = "app." + std::to_string(n) + (control ? ".control" : "");
  r.unit = "start s";
  r.higher_is_better = false;
  r.workload = std::to_string(n) +
               " idle `counter` services: `troupe run` of a generated file " +
               (control ? "with the control plane on " : "") +
               "until 'running', then SIGTERM until exit 0; raw: spawning " +
               std::to_string(n) +
               " stateful actors until each answered a request, then an exit "
               "to each until every down message came";
  // The fixed cost of the process, subtracted from the RSS per service.
  auto base = run_app(opts, 1, control);
  side_figure drain{"drain s", {}, {}};
  side_figure mem{"KB per service (troupe: RSS over a 1-service app; raw: "
                  "heap)",
                  {},
                  {}};
  // Short: the report prints at most 95 characters per extra.
  side_figure held{
    "KB per service running (RSS after the first status print; raw: heap)",
    {},
    {}};
  // troupe's heap is read from /metrics (control plane on).
  side_figure heap{"heap KB per service (troupe: /metrics over a 1-service "
                   "app; raw: heap)",
                   {},
                   {}};
  side_figure health{"GET /health s (raw: none)", {}, {}};
  side_figure metrics{"GET /metrics s (raw: none)", {}, {}};
  side_figure services{"GET /services?limit=100 s (raw: none)", {}, {}};
  auto kb = [n](double bytes) {
    return bytes / 1024.0 / static_cast<double>(n);
  };
  alternate(
    opts, r,
    [&] {
      auto f = run_raw(opts, n);
      drain.raw.values.push_back(f.drain_s);
      mem.raw.values.push_back(kb(f.peak_rss_bytes));
      held.raw.values.push_back(kb(f.rss_bytes));
      heap.raw.values.push_back(kb(f.heap_bytes));
      return f.start_s;
    },
    [&] {
      auto f = run_app(opts, n, control);
      drain.troupe.values.push_back(f.drain_s);
      health.troupe.values.push_back(f.health_s);
      metrics.troupe.values.push_back(f.metrics_s);
      services.troupe.values.push_back(f.services_s);
      mem.troupe.values.push_back(kb(f.peak_rss_bytes - base.peak_rss_bytes));
      held.troupe.values.push_back(kb(f.rss_bytes - base.rss_bytes));
      heap.troupe.values.push_back(kb(f.heap_bytes - base.heap_bytes));
      return f.start_s;
    });
  // The warm-up repetitions come first; keep the measured ones.
  for (auto* s : {&drain.raw, &drain.troupe, &mem.raw, &mem.troupe, &held.raw,
                  &held.troupe, &heap.raw, &heap.troupe, &health.troupe,
                  &metrics.troupe, &services.troupe})
    if (!s->values.empty())
      s->values.erase(s->values.begin(), s->values.begin() + opts.warmup);
  r.extras.push_back(std::move(drain));
  r.extras.push_back(std::move(mem));
  r.extras.push_back(std::move(held));
  if (control)
    for (auto* x : {&heap, &health, &metrics, &services})
      r.extras.push_back(std::move(*x));
  return r;
}

scenario app_n(uint64_t n, bool control, bool quick) {
  return {"app." + std::to_string(n) + (control ? ".control" : ""),
          std::to_string(n) + " idle services in `troupe run`" +
            (control ? " with the control plane on" : "") +
            ": start s (extras: drain s, peak and running KB per service" +
            (control ? ", one GET of /health, /metrics, /services" : "") +
            ") vs raw CAF spawning and ending as many actors",
          [n, control](const run_options& opts) {
            return app_scale(opts, n, control);
          },
          quick};
}

} // namespace

std::vector<scenario> app_scale_scenarios() {
  // Only the smallest in the quick run (bench.smoke), with and without the
  // control plane.
  std::vector<scenario> out;
  for (bool control : {false, true})
    for (uint64_t n : {1'000, 10'000, 100'000})
      out.push_back(app_n(n, control, n == 1'000));
  return out;
}

} // namespace troupe::bench
