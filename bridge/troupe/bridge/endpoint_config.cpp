#include "troupe/bridge/endpoint_config.hpp"

#include <unistd.h>

#include "troupe/bridge/zmq/socket_options.hpp"
#include "troupe/config/enum_names.hpp"

namespace troupe::bridge {

namespace {

constexpr enum_names<socket_kind, 8> socket_kinds{{{
  {socket_kind::pub, "pub"},
  {socket_kind::sub, "sub"},
  {socket_kind::push, "push"},
  {socket_kind::pull, "pull"},
  {socket_kind::req, "req"},
  {socket_kind::rep, "rep"},
  {socket_kind::router, "router"},
  {socket_kind::dealer, "dealer"},
}}};
static_assert(socket_kinds.covers());

constexpr enum_names<codec_kind, 2> codecs{{{
  {codec_kind::json, "json"},
  {codec_kind::raw, "raw"},
}}};

constexpr enum_names<full_policy, 3> full_policies{{{
  {full_policy::block, "block"},
  {full_policy::drop_oldest, "drop_oldest"},
  {full_policy::drop_newest, "drop_newest"},
}}};

// Why `heartbeat = true` does not apply to a `socket` endpoint; empty when
// it does (push, dealer).
std::string heartbeat_refusal(const std::string& socket) {
  if (socket == "push" || socket == "dealer")
    return {};
  if (socket == "pub")
    return "heartbeat applies to push and dealer endpoints (pub endpoints "
           "always send heartbeats)";
  if (socket == "req")
    return "heartbeat applies to push and dealer endpoints, not req: a REQ "
           "socket has one request in flight, so a heartbeat would cancel "
           "the call waiting for its reply or wait behind a slow one; use "
           "socket = \"dealer\" for a client that heartbeats";
  return "heartbeat applies to push and dealer endpoints (" + socket +
         " endpoints hear heartbeats, and rep/router answer them)";
}

config::schema make_schema() {
  config::schema s{"Carries local topics to and from ZeroMQ peers"};
  s.string("source_id", "Names this process in meta frames (default: "
                        "HOST:PID)")
    .fallback("");
  s.duration("heartbeat_interval",
             "How often troupe.heartbeat goes out on pub endpoints and "
             "push endpoints with heartbeat = true (0s: never)")
    .fallback(config::duration{std::chrono::seconds{1}})
    .at_least(0);
  s.duration("peer_timeout", "A peer silent for this long (no heartbeat "
                             "on any link) degrades health and is "
                             "announced on troupe.peer.lost")
    .fallback(config::duration{std::chrono::seconds{3}})
    .at_least(0.001);
  // Every endpoint has the same keys; the resolver only refuses what
  // depends on the socket kind, so that the error points at the key's line.
  auto full = std::make_shared<std::shared_ptr<const config::schema>>();
  auto& ep = s.entries(
    "endpoints", "ZMQ endpoints by name",
    [full](const config::table& entry, config::entry_problem& problem)
      -> std::shared_ptr<const config::schema> {
      auto socket = entry.find("socket");
      auto hb = entry.find("heartbeat");
      if (socket == entry.end() || hb == entry.end())
        return *full;
      auto* kind = socket->second.get_if<std::string>();
      auto* on = hb->second.get_if<bool>();
      auto* text = hb->second.get_if<std::string>(); // --set heartbeat=true
      if (kind == nullptr ||
          !((on != nullptr && *on) || (text != nullptr && *text == "true")))
        return *full;
      auto err = heartbeat_refusal(*kind);
      if (err.empty())
        return *full;
      problem.key = "heartbeat";
      problem.message = std::move(err);
      return nullptr;
    });
  ep.string("socket", "ZMQ socket type").require().one_of(socket_kinds.names());
  ep.string("bind", "Address to bind, e.g. \"tcp://127.0.0.1:5571\"")
    .fallback("");
  ep.list("connect", "Addresses to connect to")
    .of(config::value_kind::string)
    .fallback(config::list{});
  ep.list("topics", "Subscribe prefixes (sub), or local topic prefixes sent "
                    "out (pub, push); empty = everything")
    .of(config::value_kind::string)
    .fallback(config::list{});
  ep.string("codec", "Payload encoding")
    .fallback("json")
    .one_of(codecs.names());
  ep.integer("hwm", "ZMQ high-water mark (messages); also the inbound "
                    "credit window (sub, pull) and the calls in flight "
                    "(dealer) or waiting (req, dealer)")
    .fallback(10000)
    .at_least(1);
  ep.string("on_full", "Outbound policy when ZMQ will not take a message "
                       "(req/dealer: when hwm calls already wait)")
    .fallback("block")
    .one_of(full_policies.names());
  ep.integer("max_queued",
             "pub, push: most messages waiting in the bridge for ZMQ; "
             "beyond, drop_oldest drops the oldest, block and drop_newest "
             "the new one (queue_full), counted (0: hwm with drop_oldest, "
             "10 x hwm with block, where publishers' credit keeps the "
             "queue shorter)")
    .fallback(0)
    .at_least(0);
  ep.integer("max_queued_bytes",
             "pub, push: most bytes (topic + payload + meta) waiting in the "
             "bridge for ZMQ; beyond, dropped like max_queued")
    .fallback(int64_t{64} << 20)
    .at_least(1);
  ep.duration("stall_timeout",
              "pub: how long one full subscriber may hold every message "
              "back; after that messages go out past it (it misses them, "
              "counted as dropped: slow_subscriber). 0s: never wait")
    .fallback(config::duration{std::chrono::seconds{1}})
    .at_least(0);
  ep.boolean("meta", "Send and read the optional [meta] frame (seq, src, ts)")
    .fallback(false);
  ep.boolean("heartbeat",
             "push, dealer: also send troupe.heartbeat here, so that the "
             "PULL or ROUTER/REP peer sees this process come and go "
             "(worker and client liveness; pub endpoints always send them; "
             "not on req, see bridge.md)")
    .fallback(false);
  ep.integer("max_message_bytes",
             "Largest inbound frame: ZeroMQ drops the connection of a peer "
             "that sends a larger one before reading it (ZMQ_MAXMSGSIZE)")
    .fallback(1 << 20)
    .at_least(1);
  ep.integer("max_in_flight_bytes",
             "sub, pull, rep, router: most bytes of received messages "
             "between the socket and the services that took them; beyond, "
             "the receiver stops reading and ZMQ's hwm holds the peer back")
    .fallback(int64_t{64} << 20)
    .at_least(1);
  ep.duration("timeout", "rep/router: how long a service may take to answer "
                         "before the peer gets a timeout error; req/dealer: "
                         "how long a peer may take to answer a call")
    .fallback(config::duration{std::chrono::seconds{5}})
    .at_least(0.000001);
  ep.string("local_prefix", "sub/pull: prepended to every inbound topic on "
                            "the local bus (e.g. \"worker.\": jobs.3 -> "
                            "worker.jobs.3)")
    .fallback("");
  ep.boolean("batch", "sub/pull: hand inbound messages to the bus as "
                      "envelope_batch (one per topic run of a socket read) "
                      "instead of one envelope each; subscribe<envelope> and "
                      "subscribe_message handlers still take one envelope "
                      "at a time (messages with a meta frame go alone); "
                      "default: true on sub and pull");
  ep.string("record", "sub/pull: also store every message received here "
                      "(topic, payload, meta, receive time) in this bag file, "
                      "as `troupe record` does; replaced when the app "
                      "starts, FILE.r1, FILE.r2 ... after a restart of the "
                      "bridge in the same run. "
                      "Written on a thread of its own: when the disk falls "
                      "behind, messages are left out of the file (counted in "
                      "troupe_bridge_record_dropped_total), never held back")
    .fallback("");
  ep.integer("record_max_bytes", "record: start a new file (FILE.1, FILE.2 "
                                 "...) when one reaches this many bytes; 0: "
                                 "no bound")
    .fallback(0)
    .at_least(0);
  ep.duration("record_max_duration", "record: start a new file when one "
                                     "spans this long; 0s: no bound")
    .fallback(config::duration{0})
    .at_least(0);
  add_connection_schema(ep);
  *full = s.find("endpoints")->entries;
  add_curve_schema(ep);
  return s;
}

std::string default_source_id() {
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) != 0)
    host[0] = '\0';
  return std::string{host} + ":" + std::to_string(getpid());
}

std::vector<std::string> strings(const config::settings& s,
                                 std::string_view path) {
  std::vector<std::string> out;
  for (auto& v : s.get_or<config::list>(path, {}))
    if (auto* str = v.get_if<std::string>())
      out.push_back(*str);
  return out;
}

} // namespace

std::string_view to_string(socket_kind k) noexcept {
  return socket_kinds.name(k);
}

std::string_view to_string(full_policy p) noexcept {
  return full_policies.name(p);
}

bool is_inbound(socket_kind k) noexcept {
  return k == socket_kind::sub || k == socket_kind::pull;
}

bool is_outbound(socket_kind k) noexcept {
  return k == socket_kind::pub || k == socket_kind::push;
}

bool is_request(socket_kind k) noexcept {
  return k == socket_kind::rep || k == socket_kind::router;
}

bool is_call(socket_kind k) noexcept {
  return k == socket_kind::req || k == socket_kind::dealer;
}

const config::schema& bridge_schema() {
  static const config::schema s = make_schema();
  return s;
}

std::string parse_bridge_config(const config::settings& cfg,
                                bridge_config& out) {
  out = bridge_config{};
  out.source_id = cfg.get_or<std::string>("source_id", "");
  if (out.source_id.empty())
    out.source_id = default_source_id();
  out.heartbeat_interval =
    cfg.get_or<config::duration>("heartbeat_interval", out.heartbeat_interval);
  out.peer_timeout =
    cfg.get_or<config::duration>("peer_timeout", out.peer_timeout);
  auto eps = cfg.get<config::table>("endpoints");
  if (!eps)
    return {};
  for (auto& [name, v] : *eps) {
    auto* t = v.get_if<config::table>();
    if (t == nullptr)
      return "endpoint '" + name + "' is not a table";
    config::settings s{*t};
    endpoint_config ep;
    ep.name = name;
    auto socket = s.get_or<std::string>("socket", "");
    auto kind = socket_kinds.parse(socket);
    auto prefix = "endpoint '" + name + "': ";
    if (!kind)
      return prefix.append("unknown socket '").append(socket).append("'");
    ep.socket = *kind;
    ep.bind = s.get_or<std::string>("bind", "");
    ep.connect = strings(s, "connect");
    if (ep.bind.empty() == ep.connect.empty())
      return "endpoint '" + name + "': set exactly one of bind or connect";
    ep.topics = strings(s, "topics");
    ep.codec = codecs.parse(s.get_or<std::string>("codec", "json"))
                 .value_or(codec_kind::json);
    ep.hwm = static_cast<int>(s.get_or<int64_t>("hwm", 10000));
    ep.on_full = full_policies.parse(s.get_or<std::string>("on_full", "block"))
                   .value_or(full_policy::block);
    ep.meta = s.get_or<bool>("meta", false);
    ep.heartbeat = s.get_or<bool>("heartbeat", false);
    if (ep.heartbeat)
      if (auto err = heartbeat_refusal(socket); !err.empty())
        return prefix.append(err);
    ep.max_queued = static_cast<size_t>(s.get_or<int64_t>("max_queued", 0));
    if (ep.max_queued == 0)
      // Under block, publishers wait for their acknowledgements (their
      // publish_window): the queue stays below the bound, a safety net.
      ep.max_queued = static_cast<size_t>(ep.hwm) *
                      (ep.on_full == full_policy::block ? 10 : 1);
    ep.max_queued_bytes = static_cast<size_t>(
      s.get_or<int64_t>("max_queued_bytes", int64_t{64} << 20));
    ep.stall_timeout =
      s.get_or<config::duration>("stall_timeout", ep.stall_timeout);
    ep.timeout = s.get_or<config::duration>("timeout", ep.timeout);
    ep.max_message_bytes =
      static_cast<size_t>(s.get_or<int64_t>("max_message_bytes", 1 << 20));
    ep.max_in_flight_bytes = static_cast<size_t>(
      s.get_or<int64_t>("max_in_flight_bytes", int64_t{64} << 20));
    ep.local_prefix = s.get_or<std::string>("local_prefix", "");
    if (!ep.local_prefix.empty() && !is_inbound(ep.socket))
      return prefix.append("local_prefix applies to sub and pull endpoints");
    ep.record = s.get_or<std::string>("record", "");
    if (!ep.record.empty() && !is_inbound(ep.socket))
      return prefix.append("record applies to sub and pull endpoints");
    ep.record_max_bytes =
      static_cast<uint64_t>(s.get_or<int64_t>("record_max_bytes", 0));
    ep.record_max_duration =
      s.get_or<config::duration>("record_max_duration", ep.record_max_duration);
    auto batch = s.get<bool>("batch");
    if (batch && *batch && !is_inbound(ep.socket))
      return prefix.append("batch applies to sub and pull endpoints");
    ep.batch = is_inbound(ep.socket) && batch.value_or(true);
    if (auto err = parse_connection(s, ep); !err.empty())
      return prefix.append(err);
    if (auto err = parse_curve_config(s, ep.curve); !err.empty())
      return prefix.append(err);
    out.endpoints.push_back(std::move(ep));
  }
  return {};
}

} // namespace troupe::bridge
