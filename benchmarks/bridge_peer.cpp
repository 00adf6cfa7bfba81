// Bridge scenarios, the second process: `troupe-bench --peer ROLE ...`
// (peer_process.hpp), started by the measuring side. It connects and sends
// (raw-send, troupe-send; binding, for bridge.slow_peer.pub: slow-pub-raw,
// slow-pub-troupe) or echoes (raw-echo, troupe-echo), and talks to
// its parent over a line channel: "ready", "go", "done sent=N dropped=N",
// "quit".

#include "scenarios.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <zmq.hpp>

#include "bridge_flow.hpp"
#include "bridge_node.hpp"
#include "peer_process.hpp"
#include "troupe/actors/logging.hpp"

namespace troupe::bench {

namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::steady_clock;

// Publishes envelopes with sequence numbers on `topic`: one warm-up message
// per warm_atom, `n` numbered ones per emit_atom. A burst goes out as
// batches of `batch_size` with at most `window` batches in flight: the next
// batch is published when the bus says one was taken (`publish_batch` with
// `on_taken`), so that the source goes at the pace of the bridge and ZMQ,
// as a raw sender blocks in `send`, instead of filling mailboxes.
class source_service : public service {
public:
  using interface = service_actor::extend<caf::reacts_to<emit_atom, uint64_t>,
                                          caf::reacts_to<warm_atom>>;

  static constexpr uint64_t batch_size = 256;
  static constexpr int window = 8;

  source_service(std::string topic, size_t size, bool bulk)
    : topic_(std::move(topic)), size_(size), bulk_(bulk) {}

  auto handlers() {
    return std::make_tuple(
      [this](emit_atom, uint64_t n) {
        next_ = 0;
        end_ = n;
        for (int i = 0; i < window; ++i)
          emit_batch();
      },
      [this](warm_atom) {
        publish(topic_, bridge::envelope{
                          topic_, make_payload(size_, warm_seq), {}, {}});
      });
  }

private:
  void emit_batch() {
    if (next_ >= end_)
      return;
    bus_batch b;
    auto stop = std::min(end_, next_ + batch_size);
    if (bulk_) {
      // One envelope_batch: the payloads back to back in one buffer.
      bridge::envelope_batch e{topic_};
      e.data.reserve((stop - next_) * size_);
      e.ends.reserve(stop - next_);
      for (; next_ < stop; ++next_) {
        set_seq(payload_, next_);
        e.add(payload_);
      }
      b.items.push_back(bus_item{topic_, caf::make_message(std::move(e))});
    } else {
      b.items.reserve(stop - next_);
      for (; next_ < stop; ++next_)
        b.items.push_back(
          bus_item{topic_, caf::make_message(bridge::envelope{
                             topic_, make_payload(size_, next_), {}, {}})});
    }
    publish_batch(std::move(b), [this] { emit_batch(); });
  }

  std::string topic_;
  size_t size_;
  bool bulk_;
  std::string payload_ = make_payload(size_, 0);
  uint64_t next_ = 0;
  uint64_t end_ = 0;
};

// The address argument that makes a sender bind instead of connect.
const std::string bound = "bind";

// Waits for "quit" (or the parent closing the channel).
void await_quit(line_channel& ch) {
  for (;;) {
    std::optional<std::string> line;
    try {
      line = ch.receive(seconds{600});
    } catch (const std::runtime_error&) {
      return; // the parent went away: that is a quit too
    }
    if (line && *line == "quit")
      return;
    if (line)
      throw std::runtime_error("unexpected line '" + *line + "'");
  }
}

// Calls `warm` every 10 ms until the parent says "go".
void warm_until_go(line_channel& ch, const std::function<void()>& warm) {
  for (;;) {
    warm();
    if (auto line = ch.receive(milliseconds{10})) {
      if (*line == "go")
        return;
      throw std::runtime_error("expected 'go', got '" + *line + "'");
    }
  }
}

// Connects to `addr`, or with `addr == bound` binds a free tcp port and
// says "ready ADDRESS". A PUB blocks at the high-water mark (XPUB_NODROP),
// like the bridge, unless `plain_pub` keeps ZMQ's default (drop for a full
// subscriber).
void raw_send(line_channel& ch, pattern pat, const std::string& addr,
              size_t size, uint64_t n, bool plain_pub = false) {
  zmq::context_t ctx{1};
  zmq::socket_t sock{ctx, pat == pattern::push_pull ? zmq::socket_type::push
                                                    : zmq::socket_type::pub};
  sock.set(zmq::sockopt::sndhwm, hwm);
  sock.set(zmq::sockopt::linger, 1000);
  if (pat == pattern::pub_sub && !plain_pub)
    sock.set(zmq::sockopt::xpub_nodrop, 1);
  if (addr == bound) {
    sock.bind("tcp://127.0.0.1:*");
    ch.send("ready " + sock.get(zmq::sockopt::last_endpoint));
  } else {
    sock.connect(addr);
    ch.send("ready");
  }
  auto payload = make_payload(size, warm_seq);
  warm_until_go(ch, [&] {
    if (sock.send(zmq::buffer(data_topic),
                  zmq::send_flags::sndmore | zmq::send_flags::dontwait))
      (void)sock.send(zmq::buffer(payload), zmq::send_flags::none);
  });
  for (uint64_t i = 0; i < n; ++i) {
    set_seq(payload, i);
    // Blocking sends: wait at the high-water mark (PUB too, with NODROP).
    (void)sock.send(zmq::buffer(data_topic), zmq::send_flags::sndmore);
    (void)sock.send(zmq::buffer(payload), zmq::send_flags::none);
  }
  ch.send("done sent=" + std::to_string(n) + " dropped=0");
  await_quit(ch);
}

// Publishes through the bridge's endpoint "out" (`out_ep`); with
// `announce`, says "ready ADDRESS" with the address it bound.
void troupe_send(line_channel& ch, config::table out_ep, size_t size,
                 uint64_t n, int threads, bool bulk, bool announce = false) {
  node nd{threads, config::table{{"out", std::move(out_ep)}}};
  auto src = nd.add<source_service>("source", data_topic, size, bulk);
  ch.send(announce ? "ready " + nd.address("out") : std::string{"ready"});
  uint64_t warm = 0;
  warm_until_go(ch, [&] {
    caf::anon_send(src, warm_atom::value);
    ++warm;
  });
  caf::anon_send(src, emit_atom::value, n);
  // Report once the bridge handed everything to ZMQ (or dropped it).
  auto deadline = steady_clock::now() + flow_timeout;
  for (;;) {
    auto st = nd.endpoint_stats("out");
    auto sent = st["sent"].get<uint64_t>();
    auto dropped = st["dropped"].get<uint64_t>();
    auto lost = dropped + st["unencodable"].get<uint64_t>();
    if (sent + lost >= warm + n && st["queued"].get<uint64_t>() == 0) {
      ch.send("done sent=" + std::to_string(sent) +
              " dropped=" + std::to_string(lost));
      break;
    }
    if (steady_clock::now() > deadline)
      throw std::runtime_error("the bridge sent only " + std::to_string(sent) +
                               " of " + std::to_string(warm + n) + " messages");
    if (auto line = ch.receive(milliseconds{5})) {
      if (*line == "quit") {
        nd.stop_bridge();
        return; // the parent has all it needs
      }
      throw std::runtime_error("unexpected line '" + *line + "'");
    }
  }
  await_quit(ch);
  nd.stop_bridge();
}

void raw_echo(line_channel& ch, const std::string& ping_addr,
              const std::string& pong_addr) {
  zmq::context_t ctx{1};
  zmq::socket_t in{ctx, zmq::socket_type::pull};
  zmq::socket_t out{ctx, zmq::socket_type::push};
  in.set(zmq::sockopt::linger, 0);
  out.set(zmq::sockopt::linger, 1000);
  in.connect(ping_addr);
  out.connect(pong_addr);
  ch.send("ready");
  std::vector<zmq::pollitem_t> items{{in.handle(), 0, ZMQ_POLLIN, 0},
                                     {nullptr, ch.fd(), ZMQ_POLLIN, 0}};
  zmq::message_t topic;
  zmq::message_t payload;
  for (;;) {
    zmq::poll(items, milliseconds{-1});
    if ((items[1].revents & ZMQ_POLLIN) != 0) {
      await_quit(ch); // "quit" or end-of-file is all the parent sends
      return;
    }
    while (in.recv(topic, zmq::recv_flags::dontwait)) {
      if (!topic.more() || !in.recv(payload) || payload.more())
        throw std::runtime_error("a ping that is not exactly two frames");
      (void)out.send(zmq::buffer(pong_topic), zmq::send_flags::sndmore);
      (void)out.send(payload, zmq::send_flags::none);
    }
  }
}

// Answers every ping envelope with a pong envelope carrying its payload.
class echo_service : public service {
public:
  hook_result on_start() override {
    subscribe<bridge::envelope>(
      "ping.", [this](const std::string&, const bridge::envelope& e) {
        publish(pong_topic, bridge::envelope{pong_topic, e.payload, {}, {}});
      });
    return hook_result::success();
  }
};

void troupe_echo(line_channel& ch, const std::string& ping_addr,
                 const std::string& pong_addr, int threads) {
  node nd{threads, config::table{
                     {"in", endpoint({{"socket", "pull"},
                                      {"connect", config::list{ping_addr}},
                                      {"codec", "raw"}})},
                     {"out", endpoint({{"socket", "push"},
                                       {"connect", config::list{pong_addr}},
                                       {"codec", "raw"},
                                       {"topics", config::list{"pong."}}})}}};
  nd.add<echo_service>("echo");
  ch.send("ready");
  await_quit(ch);
  nd.stop_bridge();
}

} // namespace

int peer_main(const std::vector<std::string>& argv) {
  auto role = argv.empty() ? std::string{} : argv.front();
  try {
    // Logs go to stderr, shared with the parent; only warnings.
    troupe::init_logging(spdlog::level::warn);
    line_channel ch{peer_channel_fd};
    auto arg = [&](size_t i) -> const std::string& {
      if (i >= argv.size())
        throw std::runtime_error("missing argument " + std::to_string(i));
      return argv[i];
    };
    auto num = [&](size_t i) { return std::stoull(arg(i)); };
    if (role == "raw-send")
      raw_send(ch, parse_pattern(arg(1)), arg(2), num(3), num(4));
    else if (role == "troupe-send")
      troupe_send(
        ch,
        endpoint(
          {{"socket",
            parse_pattern(arg(1)) == pattern::push_pull ? "push" : "pub"},
           {"connect", config::list{arg(2)}},
           {"codec", "raw"},
           {"topics", config::list{"bench."}}}),
        num(3), num(4), static_cast<int>(num(5)), arg(6) == "bulk");
    else if (role == "slow-pub-raw")
      raw_send(ch, pattern::pub_sub, bound, num(1), num(2), true);
    else if (role == "slow-pub-troupe")
      // Default settings but the address: hwm, on_full, stall_timeout.
      troupe_send(ch,
                  endpoint({{"socket", "pub"},
                            {"bind", "tcp://127.0.0.1:*"},
                            {"codec", "raw"},
                            {"topics", config::list{"bench."}}}),
                  num(1), num(2), static_cast<int>(num(3)), false, true);
    else if (role == "raw-echo")
      raw_echo(ch, arg(1), arg(2));
    else if (role == "troupe-echo")
      troupe_echo(ch, arg(1), arg(2), static_cast<int>(num(3)));
    else if (!echo_peer(argv, ch)) // echo_forward.cpp
      throw std::runtime_error("unknown role");
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "troupe-bench --peer %s: %s\n", role.c_str(),
                 e.what());
    return 1;
  }
}

} // namespace troupe::bench
