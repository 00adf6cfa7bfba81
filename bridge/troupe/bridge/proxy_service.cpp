#include "troupe/bridge/proxy_service.hpp"

#include <array>

#include "troupe/bridge/proxy_config.hpp"
#include "troupe/bridge/proxy_runner.hpp"
#include "troupe/config/schema.hpp"

namespace troupe::bridge {

namespace {

using std::chrono::milliseconds;

// The settings a reload may change without a restart.
config::table without_live_keys(const config::table& t) {
  auto out = t;
  out.erase("paused");
  out.erase("stats_interval");
  return out;
}

} // namespace

struct proxy_service::state {
  proxy_config cfg;
  proxy_runner runner;
  proxy_stats last;
  task_id stats_task = 0;
  // [side][direction]: messages and bytes counters.
  std::array<std::array<counter*, 2>, 2> messages{};
  std::array<std::array<counter*, 2>, 2> bytes{};
  gauge* paused = nullptr;
  std::array<counter*, 2> denied{};
  std::array<uint64_t, 2> last_denied{};
};

proxy_service::proxy_service() : st_(std::make_unique<state>()) {}

proxy_service::~proxy_service() = default;

const config::schema& proxy_service::type_schema() {
  return proxy_schema();
}

const config::schema* proxy_service::settings_schema() const {
  return &type_schema();
}

hook_result proxy_service::on_configure(const settings& cfg) {
  proxy_config parsed;
  if (auto err = parse_proxy_config(cfg, parsed); !err.empty())
    return hook_result::refuse(err);
  st_->cfg = std::move(parsed);
  return hook_result::success();
}

hook_result proxy_service::on_start() {
  auto& st = *st_;
  const char* sides[] = {"frontend", "backend"};
  const char* dirs[] = {"in", "out"};
  for (size_t s = 0; s < 2; ++s) {
    for (size_t d = 0; d < 2; ++d) {
      metric_labels l{{"side", sides[s]}, {"direction", dirs[d]}};
      st.messages[s][d] = &metrics().counter(
        "troupe_proxy_messages_total",
        "Messages through the proxy per side (as ZMQ's STATISTICS count "
        "them): in = received on that side, out = sent on it",
        l);
      st.bytes[s][d] = &metrics().counter(
        "troupe_proxy_bytes_total",
        "Bytes through the proxy per side (see troupe_proxy_messages_total)",
        l);
    }
    st.denied[s] =
      &metrics().counter("troupe_proxy_auth_denied_total",
                         "CURVE clients refused by the allowed_clients list",
                         {{"side", sides[s]}});
  }
  st.paused = &metrics().gauge("troupe_proxy_paused",
                               "1 while the proxy holds its traffic (PAUSE)");
  st.last = proxy_stats{};
  st.last_denied = {};
  if (auto err = st.runner.start(st.cfg); !err.empty())
    return hook_result::fail(err);
  st.paused->set(st.cfg.paused ? 1 : 0);
  auto mode = std::string{to_string(st.cfg.mode)};
  set_metadata("mode", mode);
  set_metadata("frontend", std::string{frontend_socket_name(st.cfg.mode)} +
                             " " + st.runner.frontend_address());
  set_metadata("backend", std::string{backend_socket_name(st.cfg.mode)} + " " +
                            st.runner.backend_address());
  set_metadata("paused", st.cfg.paused ? "true" : "false");
  log().info("{} proxy: frontend {} {} {}, backend {} {} {}{}", mode,
             frontend_socket_name(st.cfg.mode),
             st.cfg.frontend.bind.empty() ? "connected to" : "bound at",
             st.runner.frontend_address(), backend_socket_name(st.cfg.mode),
             st.cfg.backend.bind.empty() ? "connected to" : "bound at",
             st.runner.backend_address(), st.cfg.paused ? " (paused)" : "");
  start_stats_task();
  return hook_result::success();
}

void proxy_service::start_stats_task() {
  auto& st = *st_;
  if (st.stats_task != 0)
    cancel(st.stats_task);
  st.stats_task = every(st.cfg.stats_interval, [this] {
    if (!st_->runner.running()) {
      auto why = st_->runner.failure();
      record_error("proxy ended on its own: " +
                     (why.empty() ? std::string{"no reason given"} : why),
                   true);
      return;
    }
    read_statistics(milliseconds{200});
  });
}

void proxy_service::read_statistics(milliseconds timeout) {
  auto& st = *st_;
  auto now = st.runner.statistics(timeout);
  if (now) {
    auto add = [](counter* c, uint64_t was, uint64_t is) {
      // ZMQ's counts start at zero with each proxy run; ours go on.
      if (is > was)
        c->inc(static_cast<double>(is - was));
    };
    const proxy_side_stats* was[] = {&st.last.frontend, &st.last.backend};
    const proxy_side_stats* is[] = {&now->frontend, &now->backend};
    const char* sides[] = {"frontend", "backend"};
    for (size_t s = 0; s < 2; ++s) {
      add(st.messages[s][0], was[s]->messages_in, is[s]->messages_in);
      add(st.messages[s][1], was[s]->messages_out, is[s]->messages_out);
      add(st.bytes[s][0], was[s]->bytes_in, is[s]->bytes_in);
      add(st.bytes[s][1], was[s]->bytes_out, is[s]->bytes_out);
      std::string p = sides[s];
      set_metadata(p + ".messages_in", std::to_string(is[s]->messages_in));
      set_metadata(p + ".bytes_in", std::to_string(is[s]->bytes_in));
      set_metadata(p + ".messages_out", std::to_string(is[s]->messages_out));
      set_metadata(p + ".bytes_out", std::to_string(is[s]->bytes_out));
    }
    st.last = *now;
  }
  const char* sides[] = {"frontend", "backend"};
  for (size_t s = 0; s < 2; ++s) {
    auto n = st.runner.auth_denied(sides[s]);
    if (n > st.last_denied[s])
      st.denied[s]->inc(static_cast<double>(n - st.last_denied[s]));
    st.last_denied[s] = n;
  }
}

hook_result proxy_service::on_stop() {
  auto& st = *st_;
  st.stats_task = 0; // cancelled by the host
  // The last counts before the proxy's go away with it.
  read_statistics(milliseconds{500});
  auto linger = std::chrono::duration_cast<milliseconds>(st.cfg.linger);
  if (!st.runner.stop(milliseconds{2000} + linger))
    log().warn("proxy did not answer TERMINATE in time; its context was "
               "shut down");
  if (st.paused != nullptr)
    st.paused->set(0);
  log().info("proxy stopped: frontend in {} / out {}, backend in {} / out {} "
             "messages",
             st.last.frontend.messages_in, st.last.frontend.messages_out,
             st.last.backend.messages_in, st.last.backend.messages_out);
  return hook_result::success();
}

hook_result proxy_service::on_reconfigure(const settings& cfg) {
  auto& st = *st_;
  if (without_live_keys(cfg.values()) != without_live_keys(config().values()))
    return hook_result::refuse(
      "a proxy applies only 'paused' and 'stats_interval' while running; "
      "restart it for other changes");
  proxy_config parsed;
  if (auto err = parse_proxy_config(cfg, parsed); !err.empty())
    return hook_result::refuse(err);
  if (parsed.paused != st.cfg.paused) {
    if (parsed.paused)
      st.runner.pause();
    else
      st.runner.resume();
    st.paused->set(parsed.paused ? 1 : 0);
    set_metadata("paused", parsed.paused ? "true" : "false");
    log().info("proxy {}", parsed.paused ? "paused" : "resumed");
  }
  bool new_interval = parsed.stats_interval != st.cfg.stats_interval;
  st.cfg = std::move(parsed);
  if (new_interval)
    start_stats_task();
  return hook_result::success();
}

} // namespace troupe::bridge
