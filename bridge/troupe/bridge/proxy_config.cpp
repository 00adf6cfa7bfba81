#include "troupe/bridge/proxy_config.hpp"

#include "troupe/bridge/zmq/socket_options.hpp"
#include "troupe/config/enum_names.hpp"

namespace troupe::bridge {

namespace {

constexpr enum_names<proxy_mode, 3> proxy_modes{{{
  {proxy_mode::pubsub, "pubsub"},
  {proxy_mode::pipeline, "pipeline"},
  {proxy_mode::requests, "requests"},
}}};

void add_side(config::schema& s, const std::string& key,
              const std::string& what) {
  auto& side = s.section(key, what);
  side
    .string("bind", "Address to bind, e.g. \"tcp://*:5601\" (an IP "
                    "address, an interface name or *)")
    .fallback("");
  side
    .list("connect", "Addresses to connect to instead (host names work, "
                     "e.g. \"tcp://hub-1:5601\")")
    .of(config::value_kind::string)
    .fallback(config::list{});
  side.integer("hwm", "ZMQ high-water marks (send and receive, messages)")
    .fallback(1000)
    .at_least(1);
  side
    .integer("max_message_bytes",
             "Largest frame accepted from a peer (ZMQ_MAXMSGSIZE); a peer "
             "sending a larger one is disconnected")
    .fallback(1 << 20)
    .at_least(1);
  add_connection_schema(side);
  add_curve_schema(side);
}

config::schema make_schema() {
  config::schema s{"Forwards ZeroMQ traffic between two addresses "
                   "(zmq_proxy_steerable): pubsub, pipeline or requests"};
  s.string("mode", "pubsub: XSUB frontend -> XPUB backend (subscriptions "
                   "forwarded); pipeline: PULL -> PUSH; requests: ROUTER <-> "
                   "DEALER")
    .require()
    .one_of(proxy_modes.names());
  add_side(s, "frontend",
           "Where publishers, producers or clients meet the proxy");
  add_side(s, "backend",
           "Where subscribers, workers or servers meet the proxy");
  s.duration("stats_interval", "How often the proxy's STATISTICS are read "
                               "into its status and /metrics")
    .fallback(config::duration{std::chrono::seconds{1}})
    .at_least(0.01);
  s.boolean("paused", "Hold all traffic (PAUSE) while running; a reload "
                      "(SIGHUP) that changes it pauses or resumes")
    .fallback(false);
  s.duration("linger", "How long messages still queued at stop may go out "
                       "(ZMQ_LINGER)")
    .fallback(config::duration{std::chrono::seconds{1}})
    .at_least(0);
  return s;
}

std::vector<std::string> strings(const config::settings& s,
                                 std::string_view path) {
  std::vector<std::string> out;
  for (auto& v : s.get_or<config::list>(path, {}))
    if (auto* str = v.get_if<std::string>())
      out.push_back(*str);
  return out;
}

std::string parse_side(const config::settings& cfg, const std::string& key,
                       endpoint_config& ep) {
  ep = endpoint_config{};
  ep.name = key;
  auto t = cfg.get<config::table>(key);
  config::settings s{t ? *t : config::table{}};
  auto prefix = key + ": ";
  ep.bind = s.get_or<std::string>("bind", "");
  ep.connect = strings(s, "connect");
  if (ep.bind.empty() == ep.connect.empty())
    return prefix + "set exactly one of bind or connect";
  ep.hwm = static_cast<int>(s.get_or<int64_t>("hwm", 1000));
  ep.max_message_bytes =
    static_cast<size_t>(s.get_or<int64_t>("max_message_bytes", 1 << 20));
  if (auto err = parse_connection(s, ep); !err.empty())
    return prefix + err;
  if (auto err = parse_curve_config(s, ep.curve); !err.empty())
    return prefix + err;
  return {};
}

} // namespace

std::string_view to_string(proxy_mode m) noexcept {
  return proxy_modes.name(m, "?");
}

std::string_view frontend_socket_name(proxy_mode m) noexcept {
  switch (m) {
  case proxy_mode::pubsub:
    return "XSUB";
  case proxy_mode::pipeline:
    return "PULL";
  case proxy_mode::requests:
    return "ROUTER";
  }
  return "?";
}

std::string_view backend_socket_name(proxy_mode m) noexcept {
  switch (m) {
  case proxy_mode::pubsub:
    return "XPUB";
  case proxy_mode::pipeline:
    return "PUSH";
  case proxy_mode::requests:
    return "DEALER";
  }
  return "?";
}

const config::schema& proxy_schema() {
  static const config::schema s = make_schema();
  return s;
}

std::string parse_proxy_config(const config::settings& cfg, proxy_config& out) {
  out = proxy_config{};
  auto mode = cfg.get_or<std::string>("mode", "");
  if (auto m = proxy_modes.parse(mode))
    out.mode = *m;
  else
    return "mode: expected pubsub, pipeline or requests, got '" + mode + "'";
  if (auto err = parse_side(cfg, "frontend", out.frontend); !err.empty())
    return err;
  if (auto err = parse_side(cfg, "backend", out.backend); !err.empty())
    return err;
  out.stats_interval =
    cfg.get_or<config::duration>("stats_interval", out.stats_interval);
  out.paused = cfg.get_or<bool>("paused", false);
  out.linger = cfg.get_or<config::duration>("linger", out.linger);
  return {};
}

} // namespace troupe::bridge
