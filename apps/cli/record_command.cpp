// troupe record: stores what a PUB or PUSH endpoint sends in a bag (SQLite,
// bridge/troupe/bridge/bag.hpp). The socket is read on this thread; a
// bag_recorder writes on its own behind a bounded queue, so that a slow disk
// drops (counted) instead of holding the socket back.

#include <array>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <zmq.hpp>

#include "commands.hpp"
#include "troupe/bridge/bag_recorder.hpp"
#include "troupe/bridge/wire.hpp"
#include "troupe/config/duration.hpp"

namespace troupe::cli {

namespace {

using namespace std::chrono_literals;

struct record_options {
  std::string endpoint;
  std::vector<std::string> topics;
  std::string output;
  uint64_t max_bytes = 0;
  double max_seconds = 0;
  std::string socket = "sub";
  bool bind = false;
  bool overwrite = false;
  bool heartbeats = false;
  uint64_t count = 0;
  std::string duration;
  std::string status = "1s";
  size_t queue = 100000;
};

std::atomic<bool> interrupted{false};

extern "C" void on_record_signal(int) {
  interrupted = true;
}

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

void print_status(const char* what, const bridge::bag_recorder& rec,
                  uint64_t received, uint64_t malformed) {
  auto s = rec.stats();
  std::cerr << fmt::format("record: {} {} received, {} written ({} bytes) "
                           "to {}, {} queued, {} dropped, {} malformed\n",
                           what, received, s.written, s.written_bytes, s.file,
                           s.queued, s.dropped_full + s.dropped_error,
                           malformed);
}

bool wanted(const record_options& opts, std::string_view topic) {
  if (topic == bridge::heartbeat_topic && !opts.heartbeats)
    return false;
  if (opts.topics.empty())
    return true;
  for (auto& t : opts.topics)
    if (topic.compare(0, t.size(), t) == 0)
      return true;
  return false;
}

int record(const record_options& opts) {
  auto deadline = std::chrono::steady_clock::time_point::max();
  if (!opts.duration.empty()) {
    auto d = config::parse_duration(opts.duration);
    if (!d) {
      std::cerr << "--duration: expected a duration like 5s, got '"
                << opts.duration << "'\n";
      return 2;
    }
    deadline = std::chrono::steady_clock::now() + *d;
  }
  auto status_every = config::parse_duration(opts.status);
  if (!status_every) {
    std::cerr << "--status: expected a duration like 1s, got '" << opts.status
              << "'\n";
    return 2;
  }
  bool is_sub = opts.socket == "sub";
  zmq::context_t ctx{1};
  zmq::socket_t s{ctx, is_sub ? zmq::socket_type::sub : zmq::socket_type::pull};
  try {
    s.set(zmq::sockopt::linger, 0);
    s.set(zmq::sockopt::rcvhwm, 100000);
    if (is_sub) {
      if (opts.topics.empty())
        s.set(zmq::sockopt::subscribe, "");
      for (auto& t : opts.topics)
        s.set(zmq::sockopt::subscribe, t);
    }
    if (opts.bind)
      s.bind(opts.endpoint);
    else
      s.connect(opts.endpoint);
  } catch (const zmq::error_t& e) {
    std::cerr << "record: " << (opts.bind ? "bind " : "connect ")
              << opts.endpoint << ": " << e.what() << '\n';
    return 1;
  }
  bridge::bag_recorder::options ro;
  ro.path = opts.output;
  ro.limits.max_bytes = opts.max_bytes;
  ro.limits.max_duration = std::chrono::duration_cast<std::chrono::nanoseconds>(
    std::chrono::duration<double>(opts.max_seconds));
  ro.overwrite = opts.overwrite;
  ro.source = opts.endpoint;
  ro.max_queued = opts.queue;
  std::string err;
  auto rec = bridge::bag_recorder::start(ro, err);
  if (!rec) {
    std::cerr << "record: " << err << '\n';
    return 1;
  }
  std::cerr << "record: " << opts.socket << ' '
            << (opts.bind ? "bound to " : "connected to ") << opts.endpoint
            << ", writing " << opts.output << '\n';
  interrupted = false;
  auto old_int = std::signal(SIGINT, on_record_signal);
  auto old_term = std::signal(SIGTERM, on_record_signal);
  uint64_t received = 0;
  uint64_t malformed = 0;
  std::vector<zmq::message_t> frames;
  std::vector<std::string_view> views;
  std::array<zmq::pollitem_t, 1> items{{{s.handle(), 0, ZMQ_POLLIN, 0}}};
  auto next_status = std::chrono::steady_clock::now() + *status_every;
  auto done = [&] { return opts.count > 0 && received >= opts.count; };
  while (!done() && !interrupted) {
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline)
      break;
    // A write error ends the recording (what comes after is dropped):
    // stop now and say so, rather than count drops until Ctrl-C.
    if (!rec->stats().error.empty())
      break;
    if (status_every->count() > 0 && now >= next_status) {
      print_status("running:", *rec, received, malformed);
      next_status = now + *status_every;
    }
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
      if (!s.recv(m, zmq::recv_flags::dontwait))
        break;
      auto t = now_ns();
      frames.push_back(std::move(m));
      bool cut = false;
      while (!cut && frames.back().more()) {
        zmq::message_t part;
        try {
          (void)s.recv(part); // the rest of a message is already here
        } catch (const zmq::error_t&) {
          cut = true; // EINTR: the message is lost, counted as malformed
          continue;
        }
        frames.push_back(std::move(part));
      }
      if (cut) {
        ++malformed;
        continue;
      }
      views.clear();
      for (auto& f : frames)
        views.push_back(f.to_string_view());
      bridge::wire_message w;
      if (bridge::check_frames(views, std::numeric_limits<size_t>::max(), false,
                               w) != bridge::frame_error::none) {
        ++malformed;
        continue;
      }
      if (!wanted(opts, w.topic))
        continue;
      ++received;
      rec->push(w.topic, w.payload, w.meta, w.has_meta, t);
    }
  }
  std::signal(SIGINT, old_int);
  std::signal(SIGTERM, old_term);
  err = rec->stop();
  print_status("done:", *rec, received, malformed);
  auto st = rec->stats();
  std::cerr << "record: " << st.files << " file(s): " << opts.output
            << (st.files > 1 ? fmt::format(" .. {}", st.file) : "") << '\n';
  if (!err.empty()) {
    std::cerr << "record: " << err << '\n';
    return 1;
  }
  return 0;
}

} // namespace

void add_record_command(CLI::App& app, int& exit_code) {
  auto opts = std::make_shared<record_options>();
  auto* cmd = app.add_subcommand(
    "record", "Store what a PUB or PUSH endpoint sends in a bag file");
  cmd
    ->add_option("endpoint", opts->endpoint,
                 "Address to connect to, e.g. tcp://127.0.0.1:5573")
    ->required();
  cmd->add_option("-o,--output", opts->output, "The bag file to write")
    ->required();
  cmd->add_option("--topic", opts->topics,
                  "Record topics with this prefix (repeatable; default: "
                  "everything but troupe.heartbeat)");
  cmd
    ->add_option("--socket", opts->socket,
                 "sub (default) for a PUB endpoint, pull for a PUSH one")
    ->check(CLI::IsMember({"sub", "pull"}));
  cmd->add_flag("--bind", opts->bind, "Bind the address instead");
  cmd->add_option("--max-bytes", opts->max_bytes,
                  "Start a new file (FILE.1, FILE.2 ...) when one reaches "
                  "this many bytes");
  cmd
    ->add_option("--max-seconds", opts->max_seconds,
                 "Start a new file when one spans this many seconds")
    ->check(non_negative_number);
  cmd->add_flag("--overwrite", opts->overwrite,
                "Replace FILE (and FILE.1 ...) when it exists");
  cmd->add_flag("--heartbeats", opts->heartbeats,
                "Record troupe.heartbeat messages too");
  cmd->add_option("--count", opts->count, "Stop after N messages");
  cmd->add_option("--duration", opts->duration,
                  "Stop after this long (e.g. 30s)");
  cmd->add_option("--status", opts->status,
                  "Print a status line this often (default 1s; 0s: never)");
  cmd
    ->add_option("--queue", opts->queue,
                 "Most messages waiting for the disk; beyond, they are "
                 "dropped and counted (default 100000)")
    ->check(positive_number);
  cmd->footer(
    "Stops on Ctrl-C / SIGTERM (or --count, --duration), writes what is "
    "queued and closes the file. Each message is stored with its topic, "
    "payload, meta frame and receive time; 'troupe bag info FILE' shows what "
    "a bag holds, 'troupe replay FILE --to ADDRESS' sends it again. Exit "
    "codes: 0 done, 1 socket or file error, 2 usage error.\n");
  cmd->callback([opts, &exit_code] { exit_code = record(*opts); });
}

} // namespace troupe::cli
