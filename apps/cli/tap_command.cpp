// troupe tap: subscribes to a ZMQ PUB endpoint and prints what goes by
// (plain cppzmq, no actors).

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "commands.hpp"
#include "troupe/bridge/printable.hpp"
#include "troupe/config/duration.hpp"

namespace troupe::cli {

namespace {

using namespace std::chrono_literals;

struct tap_options {
  std::string endpoint;
  std::vector<std::string> topics;
  uint64_t count = 0;
  std::string timeout;
  bool bind = false;
};

std::atomic<bool> interrupted{false};

extern "C" void on_interrupt(int) {
  interrupted = true;
}

// `topic  payload` (and `  meta` when a third frame came), escaped.
void print_message(const std::vector<zmq::message_t>& frames) {
  std::string line;
  for (size_t i = 0; i < frames.size(); ++i) {
    if (i > 0)
      line += "  ";
    line += bridge::printable(frames[i].to_string_view());
  }
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), stdout);
}

int tap(const tap_options& opts) {
  auto deadline = std::chrono::steady_clock::time_point::max();
  if (!opts.timeout.empty()) {
    auto d = config::parse_duration(opts.timeout);
    if (!d) {
      std::cerr << "--timeout: expected a duration like 5s, got '"
                << opts.timeout << "'\n";
      return 2;
    }
    deadline = std::chrono::steady_clock::now() + *d;
  }
  zmq::context_t ctx{1};
  zmq::socket_t sub{ctx, zmq::socket_type::sub};
  sub.set(zmq::sockopt::linger, 0);
  try {
    if (opts.topics.empty())
      sub.set(zmq::sockopt::subscribe, "");
    for (auto& t : opts.topics)
      sub.set(zmq::sockopt::subscribe, t);
    if (opts.bind)
      sub.bind(opts.endpoint);
    else
      sub.connect(opts.endpoint);
  } catch (const zmq::error_t& e) {
    std::cerr << "tap: " << (opts.bind ? "bind " : "connect ") << opts.endpoint
              << ": " << e.what() << '\n';
    return 1;
  }
  interrupted = false;
  auto old_int = std::signal(SIGINT, on_interrupt);
  auto old_term = std::signal(SIGTERM, on_interrupt);
  uint64_t seen = 0;
  std::vector<zmq::message_t> frames;
  std::array<zmq::pollitem_t, 1> items{{{sub.handle(), 0, ZMQ_POLLIN, 0}}};
  auto done = [&] { return opts.count > 0 && seen >= opts.count; };
  while (!done() && !interrupted) {
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline)
      break;
    // Short polls so that Ctrl-C and the deadline are seen promptly.
    auto wait =
      std::min<std::chrono::steady_clock::duration>(100ms, deadline - now);
    try {
      zmq::poll(items.data(), items.size(),
                std::chrono::duration_cast<std::chrono::milliseconds>(wait));
    } catch (const zmq::error_t&) {
      continue; // EINTR: the loop condition sees the signal
    }
    while (!done()) {
      frames.clear();
      zmq::message_t m;
      if (!sub.recv(m, zmq::recv_flags::dontwait))
        break;
      frames.push_back(std::move(m));
      while (frames.back().more()) {
        zmq::message_t part;
        (void)sub.recv(part); // the rest of a message is already here
        frames.push_back(std::move(part));
      }
      print_message(frames);
      ++seen;
    }
    std::fflush(stdout);
  }
  std::signal(SIGINT, old_int);
  std::signal(SIGTERM, old_term);
  std::cerr << "tap: " << seen << " message(s)\n";
  if (opts.count > 0 && seen < opts.count && !interrupted) {
    std::cerr << "tap: timed out before " << opts.count << " message(s)\n";
    return 1;
  }
  return 0;
}

} // namespace

void add_tap_command(CLI::App& app, int& exit_code) {
  auto opts = std::make_shared<tap_options>();
  auto* cmd = app.add_subcommand(
    "tap", "Subscribe to a ZMQ PUB endpoint and print 'topic  payload' lines");
  cmd
    ->add_option("endpoint", opts->endpoint,
                 "Address to connect to, e.g. tcp://127.0.0.1:5573")
    ->required();
  cmd->add_option("--topic", opts->topics,
                  "Subscribe to this prefix (repeatable; default: "
                  "everything)");
  cmd->add_option("--count", opts->count, "Exit after N messages");
  cmd->add_option("--timeout", opts->timeout,
                  "Exit after this long (e.g. 5s); with --count, exit 1 if "
                  "fewer arrived");
  cmd->add_flag("--bind", opts->bind, "Bind the address instead");
  cmd->footer("A third frame (meta) is printed as a third column. Bytes "
              "that are not printable UTF-8 show as \\xNN, a backslash as "
              "\\\\. Exit codes: 0 done (or Ctrl-C), 1 socket error or "
              "--count not reached in --timeout, 2 usage error.\n");
  cmd->callback([opts, &exit_code] { exit_code = tap(*opts); });
}

} // namespace troupe::cli
