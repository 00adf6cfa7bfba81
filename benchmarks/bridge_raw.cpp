// Bridge scenarios, the raw baseline's measuring side: raw cppzmq receiving
// a flow, or pinging an echo, with the peer in a second process
// (bridge_peer.cpp). No CAF here.

#include "bridge_flow.hpp"

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "measure.hpp"
#include "peer_process.hpp"

namespace troupe::bench {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

flow_outcome raw_throughput(const flow& f) {
  temp_dir dir;
  zmq::context_t ctx{1};
  zmq::socket_t sock{ctx, f.pat == pattern::push_pull ? zmq::socket_type::pull
                                                      : zmq::socket_type::sub};
  sock.set(zmq::sockopt::rcvhwm, hwm);
  sock.set(zmq::sockopt::linger, 0);
  if (f.pat == pattern::pub_sub)
    sock.set(zmq::sockopt::subscribe, "bench.");
  sock.bind(bind_address(f.transport, dir, "in"));
  std::string addr = sock.get(zmq::sockopt::last_endpoint);
  peer_process peer{{"raw-send", to_string(f.pat), addr, std::to_string(f.size),
                     std::to_string(f.n)}};
  auto& ch = peer.channel();
  ch.expect("'ready'", ready_timeout);
  rx_progress p{f.n, f.size};
  zmq::message_t topic;
  zmq::message_t payload;
  std::vector<zmq::pollitem_t> items{{sock.handle(), 0, ZMQ_POLLIN, 0},
                                     {nullptr, ch.fd(), ZMQ_POLLIN, 0}};
  // Receives what is waiting, like the bridge's receiver thread: poll, then
  // a batch of non-blocking receives.
  step_fn step = [&](milliseconds timeout) {
    zmq::poll(items, timeout);
    for (int batch = 0; batch < 4096; ++batch) {
      if (!sock.recv(topic, zmq::recv_flags::dontwait))
        return;
      if (!topic.more() || !sock.recv(payload) || payload.more()) {
        p.fail("a message that is not exactly two frames");
        return;
      }
      p.on(payload.data(), payload.size());
    }
  };
  await_warm(p, ch, step);
  auto out = receive_flow(p, ch, step, f.pat, "raw");
  peer.finish();
  return out;
}

rtts raw_ping(const std::string& transport, const ping_plan& plan) {
  temp_dir dir;
  zmq::context_t ctx{1};
  zmq::socket_t out{ctx, zmq::socket_type::push};
  zmq::socket_t in{ctx, zmq::socket_type::pull};
  for (auto* s : {&out, &in}) {
    s->set(zmq::sockopt::linger, 0);
    // Short, so that a dead peer is noticed (see `recv` below).
    s->set(zmq::sockopt::rcvtimeo, 200);
    s->set(zmq::sockopt::sndtimeo, 10'000);
  }
  out.bind(bind_address(transport, dir, "ping"));
  in.bind(bind_address(transport, dir, "pong"));
  std::string out_addr = out.get(zmq::sockopt::last_endpoint);
  std::string in_addr = in.get(zmq::sockopt::last_endpoint);
  peer_process peer{{"raw-echo", out_addr, in_addr}};
  peer.channel().expect("'ready'", ready_timeout);
  rtts result;
  result.reserve(plan.n);
  auto payload = make_payload(plan.size, 0);
  zmq::message_t topic;
  zmq::message_t reply;
  auto& ch = peer.channel();
  // Receives one frame; between time-outs, checks that the peer still runs
  // (a closed channel throws), for up to 10 s.
  auto recv = [&](zmq::message_t& m) {
    for (int i = 0; i < 50; ++i) {
      if (in.recv(m))
        return true;
      if (auto line = ch.receive(milliseconds{0}))
        throw std::runtime_error("unexpected line from the peer: '" + *line +
                                 "'");
    }
    return false;
  };
  for (uint64_t i = 0; i < plan.warm + plan.n; ++i) {
    set_seq(payload, i);
    auto t0 = steady_clock::now();
    if (!out.send(zmq::buffer(ping_topic), zmq::send_flags::sndmore) ||
        !out.send(zmq::buffer(payload), zmq::send_flags::none))
      throw std::runtime_error("raw: ping " + std::to_string(i) +
                               " not sent within 10 s");
    if (!recv(topic) || !topic.more() || !recv(reply))
      throw std::runtime_error("raw: no pong " + std::to_string(i) +
                               " within 10 s");
    auto us = elapsed_us(t0);
    if (reply.more() || reply.size() != plan.size || get_seq(reply.data()) != i)
      throw std::runtime_error("raw: wrong pong to ping " + std::to_string(i));
    if (i >= plan.warm)
      result.push_back(us);
  }
  peer.finish();
  return result;
}

} // namespace troupe::bench
