// troupe pub: sends [topic][payload] messages to a ZMQ endpoint (plain
// cppzmq, no actors).

#include <array>
#include <chrono>
#include <iostream>
#include <memory>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>
#include <unistd.h>
#include <zmq.hpp>

#include "commands.hpp"
#include "send_socket.hpp"
#include "troupe/bridge/wire.hpp"
#include "troupe/config/duration.hpp"

namespace troupe::cli {

namespace {

using namespace std::chrono_literals;

struct pub_options {
  std::string endpoint;
  std::string topic;
  std::string payload;
  uint64_t count = 1;
  double rate = 0;
  bool bind = false;
  std::string socket = "push";
  bool raw = false;
  bool meta = false;
  std::string wait = "5s";
  std::string timeout = "10s";
};

int pub(const pub_options& opts) {
  auto wait = duration_option("--wait", opts.wait);
  auto timeout = duration_option("--timeout", opts.timeout);
  if (!wait || !timeout)
    return 2;
  if (!opts.raw && !nlohmann::json::accept(opts.payload)) {
    std::cerr << "pub: the payload is not JSON (use --raw to send bytes as "
                 "they are)\n";
    return 2;
  }
  bool is_pub = opts.socket == "pub";
  zmq::context_t ctx{1};
  auto sock =
    open_sender(ctx, is_pub, opts.endpoint, opts.bind, *timeout, "pub");
  if (!sock)
    return 1;
  auto& s = *sock;
  if (is_pub && !wait_for_subscriber(s, &opts.topic, *wait))
    std::cerr << "pub: no subscriber for '" << opts.topic << "' after "
              << opts.wait << "; sending anyway (PUB drops what nobody "
              << "subscribed to)\n";
  auto src = "troupe-pub:" + std::to_string(::getpid());
  auto period = opts.rate > 0 ? std::chrono::duration<double>(1.0 / opts.rate)
                              : std::chrono::duration<double>::zero();
  auto start = std::chrono::steady_clock::now();
  uint64_t sent = 0;
  for (; sent < opts.count; ++sent) {
    if (opts.rate > 0)
      std::this_thread::sleep_until(
        start + std::chrono::duration_cast<std::chrono::nanoseconds>(
                  period * static_cast<double>(sent)));
    if (!s.send(zmq::buffer(opts.topic), zmq::send_flags::sndmore))
      break; // timed out: no peer took it
    if (!opts.meta) {
      s.send(zmq::buffer(opts.payload), zmq::send_flags::none);
      continue;
    }
    auto ts = std::chrono::duration_cast<std::chrono::nanoseconds>(
                std::chrono::system_clock::now().time_since_epoch())
                .count();
    auto meta = bridge::encode_meta({sent + 1, src, ts});
    s.send(zmq::buffer(opts.payload), zmq::send_flags::sndmore);
    s.send(zmq::buffer(meta), zmq::send_flags::none);
  }
  std::cerr << "pub: sent " << sent << " message(s) to " << opts.endpoint
            << '\n';
  if (sent < opts.count) {
    std::cerr << "pub: no peer took message " << sent + 1 << " within "
              << opts.timeout << '\n';
    return 1;
  }
  return 0;
}

} // namespace

void add_pub_command(CLI::App& app, int& exit_code) {
  auto opts = std::make_shared<pub_options>();
  auto* cmd = app.add_subcommand(
    "pub", "Send [topic][payload] messages to a ZMQ endpoint");
  cmd
    ->add_option("endpoint", opts->endpoint,
                 "Address, e.g. tcp://127.0.0.1:5571")
    ->required();
  cmd->add_option("topic", opts->topic, "Topic frame")->required();
  cmd->add_option("payload", opts->payload, "Payload frame: JSON text")
    ->required();
  cmd->add_option("--count", opts->count, "How many messages")
    ->check(CLI::PositiveNumber);
  cmd
    ->add_option("--rate", opts->rate,
                 "Messages per second (default: as fast as possible)")
    ->check(CLI::PositiveNumber);
  cmd->add_option("--socket", opts->socket, "Socket type")
    ->check(CLI::IsMember({"push", "pub"}));
  cmd->add_flag("--bind", opts->bind, "Bind the address instead of connecting");
  cmd->add_flag("--raw", opts->raw, "Send the payload even if it is not JSON");
  cmd->add_flag("--meta", opts->meta,
                "Add the [meta] frame: {\"seq\": 1.., \"src\", \"ts\"}");
  cmd->add_option("--wait", opts->wait,
                  "pub: wait this long for a subscriber to the topic "
                  "(default 5s)");
  cmd->add_option("--timeout", opts->timeout,
                  "Give up when no peer takes a message for this long; also "
                  "the linger at exit (default 10s)");
  cmd->footer(
    "push (default) blocks until a peer takes each message: nothing is "
    "lost. pub waits up to --wait for a subscriber whose prefix matches the "
    "topic (the slow-joiner effect), then never drops: it waits for a slow "
    "subscriber. Exit codes: 0 all sent, 1 socket error or timeout, 2 usage "
    "error.\n");
  cmd->callback([opts, &exit_code] { exit_code = pub(*opts); });
}

} // namespace troupe::cli
