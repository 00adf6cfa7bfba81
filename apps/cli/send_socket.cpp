#include "send_socket.hpp"

#include <array>
#include <chrono>
#include <iostream>

namespace troupe::cli {

using namespace std::chrono_literals;

std::optional<config::duration> duration_option(const char* name,
                                                const std::string& text) {
  auto d = config::parse_duration(text);
  if (!d)
    std::cerr << name << ": expected a duration like 5s, got '" << text
              << "'\n";
  return d;
}

std::optional<zmq::socket_t> open_sender(zmq::context_t& ctx, bool pub,
                                         const std::string& address, bool bind,
                                         config::duration timeout,
                                         const char* who) {
  zmq::socket_t s{ctx, pub ? zmq::socket_type::xpub : zmq::socket_type::push};
  auto ms = static_cast<int>(
    std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count());
  try {
    s.set(zmq::sockopt::sndtimeo, ms);
    s.set(zmq::sockopt::linger, ms);
    if (pub)
      s.set(zmq::sockopt::xpub_nodrop, 1); // wait for a slow subscriber
    else
      s.set(zmq::sockopt::immediate, 1); // no queueing before a peer is here
    if (bind)
      s.bind(address);
    else
      s.connect(address);
  } catch (const zmq::error_t& e) {
    std::cerr << who << ": " << (bind ? "bind " : "connect ") << address << ": "
              << e.what() << '\n';
    return std::nullopt;
  }
  return s;
}

bool wait_for_subscriber(zmq::socket_t& s, const std::string* topic,
                         config::duration wait, const std::atomic<bool>* stop) {
  auto deadline = std::chrono::steady_clock::now() + wait;
  std::array<zmq::pollitem_t, 1> items{{{s.handle(), 0, ZMQ_POLLIN, 0}}};
  while (std::chrono::steady_clock::now() < deadline &&
         (stop == nullptr || !stop->load())) {
    try {
      zmq::poll(items.data(), items.size(), 50ms);
    } catch (const zmq::error_t&) {
      continue; // EINTR: the loop condition sees the signal
    }
    zmq::message_t m;
    while (s.recv(m, zmq::recv_flags::dontwait)) {
      auto sub = m.to_string_view();
      // [1][prefix] subscribes; [0][prefix] unsubscribes.
      if (!sub.empty() && sub[0] == 1 &&
          (topic == nullptr ||
           topic->compare(0, sub.size() - 1, sub.substr(1)) == 0))
        return true;
    }
  }
  return false;
}

} // namespace troupe::cli
