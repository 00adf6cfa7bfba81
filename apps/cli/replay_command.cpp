// troupe replay: sends a bag (troupe record) to an endpoint again, with the
// recorded timing scaled or as fast as the peer takes it; troupe bag info:
// what a bag holds.

#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <ctime>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "commands.hpp"
#include "send_socket.hpp"
#include "troupe/bridge/bag.hpp"
#include "troupe/bridge/printable.hpp"
#include "troupe/config/duration.hpp"

namespace troupe::cli {

namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

struct replay_options {
  std::string file;
  std::string to;
  double rate = 1.0;
  bool max_rate = false;
  bool loop = false;
  std::vector<std::string> topics;
  std::string socket = "push";
  bool bind = false;
  bool no_meta = false;
  std::string wait = "5s";
  std::string timeout = "10s";
};

std::atomic<bool> interrupted{false};

extern "C" void on_replay_signal(int) {
  interrupted = true;
}

// Sends one frame; false when no peer took it within the send timeout or
// a signal came (then `interrupted` is set).
bool send_frame(zmq::socket_t& s, std::string_view data, bool more) {
  for (;;) {
    try {
      return s
        .send(zmq::buffer(data),
              more ? zmq::send_flags::sndmore : zmq::send_flags::none)
        .has_value();
    } catch (const zmq::error_t& e) {
      if (e.num() != EINTR || interrupted)
        return false;
    }
  }
}

// Sleeps until `t` in short steps, so that Ctrl-C is seen.
void sleep_until(clock_type::time_point t) {
  while (!interrupted) {
    auto now = clock_type::now();
    if (now >= t)
      return;
    std::this_thread::sleep_for(std::min<clock_type::duration>(t - now, 50ms));
  }
}

int replay(const replay_options& opts) {
  auto wait = duration_option("--wait", opts.wait);
  auto timeout = duration_option("--timeout", opts.timeout);
  if (!wait || !timeout)
    return 2;
  std::string err;
  auto bag = bridge::bag_reader::open(opts.file, err);
  if (!bag) {
    std::cerr << "replay: " << err << '\n';
    return 1;
  }
  bag->set_topics(opts.topics);
  bool is_pub = opts.socket == "pub";
  zmq::context_t ctx{1};
  auto sock = open_sender(ctx, is_pub, opts.to, opts.bind, *timeout, "replay");
  if (!sock)
    return 1;
  auto& s = *sock;
  interrupted = false;
  auto old_int = std::signal(SIGINT, on_replay_signal);
  auto old_term = std::signal(SIGTERM, on_replay_signal);
  if (is_pub && !wait_for_subscriber(s, nullptr, *wait, &interrupted))
    std::cerr << "replay: no subscriber after " << opts.wait
              << "; sending anyway (PUB drops what nobody subscribed to)\n";
  uint64_t sent = 0;
  uint64_t loops = 0;
  bool failed = false;
  bridge::bag_message m;
  auto begin = clock_type::now();
  auto next_status = begin + 1s;
  clock_type::duration worst_lag{0};
  while (!interrupted && !failed) {
    // One pass over the bag: message i goes at start + (t_i - t_0) / rate.
    auto start = clock_type::now();
    int64_t t0 = 0;
    bool first = true;
    uint64_t in_pass = 0;
    while (!interrupted && bag->next(m, err)) {
      if (first) {
        t0 = m.recv_ns;
        first = false;
      }
      if (!opts.max_rate) {
        auto offset = std::chrono::duration<double, std::nano>(
          static_cast<double>(m.recv_ns - t0) / opts.rate);
        auto due =
          start + std::chrono::duration_cast<clock_type::duration>(offset);
        sleep_until(due);
        worst_lag = std::max(worst_lag, clock_type::now() - due);
        if (interrupted)
          break;
      }
      bool meta = m.has_meta && !opts.no_meta;
      if (!send_frame(s, m.topic, true)) {
        if (interrupted)
          break;
        std::cerr << "replay: no peer took message " << sent + 1 << " within "
                  << opts.timeout << '\n';
        failed = true;
        break;
      }
      // The rest of a message ZMQ took goes at once (HWM is checked at the
      // first frame).
      send_frame(s, m.payload, meta);
      if (meta)
        send_frame(s, m.meta, false);
      ++sent;
      ++in_pass;
      auto now = clock_type::now();
      if (now >= next_status) {
        std::cerr << fmt::format("replay: {} sent\n", sent);
        next_status = now + 1s;
      }
    }
    if (!err.empty()) {
      std::cerr << "replay: " << err << '\n';
      failed = true;
      break;
    }
    ++loops;
    if (!opts.loop || in_pass == 0)
      break;
    bag->rewind();
  }
  std::signal(SIGINT, old_int);
  std::signal(SIGTERM, old_term);
  auto secs = std::chrono::duration<double>(clock_type::now() - begin).count();
  std::cerr << fmt::format(
    "replay: sent {} message(s) to {} in {:.3f} s "
    "({:.0f} msg/s), {} pass(es){}\n",
    sent, opts.to, secs, secs > 0 ? static_cast<double>(sent) / secs : 0.0,
    loops,
    opts.max_rate
      ? std::string{}
      : fmt::format(
          ", at most {:.1f} ms behind the "
          "schedule",
          std::chrono::duration<double, std::milli>(worst_lag).count()));
  return failed ? 1 : 0;
}

std::string utc(int64_t ns) {
  auto secs = static_cast<std::time_t>(ns / 1'000'000'000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  std::array<char, 32> buf{};
  std::strftime(buf.data(), buf.size(), "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:03d}Z", buf.data(), (ns / 1'000'000) % 1000);
}

std::string human_bytes(uint64_t n) {
  if (n < 1024)
    return fmt::format("{} B", n);
  if (n < uint64_t{1024} * 1024)
    return fmt::format("{:.1f} KiB", static_cast<double>(n) / 1024);
  return fmt::format("{:.1f} MiB", static_cast<double>(n) / (1024 * 1024));
}

int bag_info(const std::string& file, bool json) {
  std::string err;
  auto bag = bridge::bag_reader::open(file, err);
  bridge::bag_summary s;
  if (!bag || !bag->summarize(s, err)) {
    std::cerr << "bag info: " << err << '\n';
    return 1;
  }
  auto duration = static_cast<double>(s.last_ns - s.first_ns) / 1e9;
  if (json) {
    auto out =
      nlohmann::json{{"format", bridge::bag_format}, {"version", s.version},
                     {"recording", s.recording},     {"source", s.source},
                     {"messages", s.messages},       {"bytes", s.bytes},
                     {"first_ns", s.first_ns},       {"last_ns", s.last_ns},
                     {"duration_s", duration}};
    auto& files = out["files"] = nlohmann::json::array();
    for (auto& f : s.files)
      files.push_back({{"path", f.path},
                       {"file_bytes", f.file_bytes},
                       {"messages", f.messages},
                       {"first_ns", f.first_ns},
                       {"last_ns", f.last_ns}});
    auto& topics = out["topics"] = nlohmann::json::object();
    for (auto& t : s.topics)
      topics[bridge::printable(t.topic)] = {{"messages", t.messages},
                                            {"bytes", t.bytes}};
    std::cout << out.dump(2) << '\n';
    return 0;
  }
  uint64_t file_bytes = 0;
  for (auto& f : s.files)
    file_bytes += f.file_bytes;
  std::cout << fmt::format("bag:        {} ({} version {}, recording {})\n",
                           file, bridge::bag_format, s.version, s.recording);
  std::cout << fmt::format("source:     {}\n", s.source);
  std::cout << fmt::format("files:      {} ({} on disk)\n", s.files.size(),
                           human_bytes(file_bytes));
  for (auto& f : s.files)
    std::cout << fmt::format("  {}  {} messages  {}\n", f.path, f.messages,
                             human_bytes(f.file_bytes));
  std::cout << fmt::format("messages:   {} ({} of topics, payloads and "
                           "meta)\n",
                           s.messages, human_bytes(s.bytes));
  if (s.messages > 0) {
    std::cout << fmt::format("duration:   {:.3f} s\n", duration);
    std::cout << fmt::format("start:      {}\n", utc(s.first_ns));
    std::cout << fmt::format("end:        {}\n", utc(s.last_ns));
  }
  std::cout << fmt::format("topics:     {}\n", s.topics.size());
  size_t width = 5;
  for (auto& t : s.topics)
    width = std::max(width, bridge::printable(t.topic).size());
  std::cout << fmt::format("  {:<{}}  {:>10}  {:>10}\n", "TOPIC", width,
                           "MESSAGES", "BYTES");
  for (auto& t : s.topics)
    std::cout << fmt::format("  {:<{}}  {:>10}  {:>10}\n",
                             bridge::printable(t.topic), width, t.messages,
                             human_bytes(t.bytes));
  return 0;
}

} // namespace

void add_replay_command(CLI::App& app, int& exit_code) {
  auto opts = std::make_shared<replay_options>();
  auto* cmd = app.add_subcommand(
    "replay", "Send a recorded bag to an endpoint again, with its timing");
  cmd->add_option("file", opts->file, "The bag (troupe record -o FILE)")
    ->required();
  cmd
    ->add_option("--to", opts->to,
                 "Address to connect to, e.g. tcp://127.0.0.1:5571")
    ->required();
  auto* rate = cmd
                 ->add_option("--rate", opts->rate,
                              "Scale the recorded timing: 2 sends twice as "
                              "fast (default 1)")
                 ->check(positive_number);
  cmd
    ->add_flag("--max-rate", opts->max_rate,
               "Ignore the timing: send as fast as the peer takes messages")
    ->excludes(rate);
  cmd->add_flag("--loop", opts->loop, "Start again at the end, until Ctrl-C");
  cmd->add_option("--topic", opts->topics,
                  "Send only topics with this prefix (repeatable)");
  cmd->add_option("--socket", opts->socket, "push (default) or pub")
    ->check(CLI::IsMember({"push", "pub"}));
  cmd->add_flag("--bind", opts->bind, "Bind the address instead");
  cmd->add_flag("--no-meta", opts->no_meta, "Leave out recorded [meta] frames");
  cmd->add_option("--wait", opts->wait,
                  "pub: wait this long for a subscriber (default 5s)");
  cmd->add_option("--timeout", opts->timeout,
                  "Give up when no peer takes a message for this long; also "
                  "the linger at exit (default 10s)");
  cmd->footer(
    "Messages go out in the order they were received, each after the "
    "recorded gap since the first one divided by --rate; when the peer is "
    "slower, they go as fast as it takes them (the summary says how far "
    "behind the schedule replay fell). push (default) waits for a peer to "
    "take each message: nothing is lost. Exit codes: 0 all sent (or "
    "Ctrl-C), 1 bad bag, socket error or timeout, 2 usage error.\n");
  cmd->callback([opts, &exit_code] { exit_code = replay(*opts); });

  auto* bag = app.add_subcommand("bag", "Inspect bag files");
  bag->require_subcommand(1);
  auto info_file = std::make_shared<std::string>();
  auto info_json = std::make_shared<bool>(false);
  auto* info = bag->add_subcommand(
    "info", "Print a bag's files, topics, counts, duration and sizes");
  info->add_option("file", *info_file, "The bag")->required();
  info->add_flag("--json", *info_json, "Print JSON instead");
  info->footer("Exit codes: 0 a readable bag, 1 a missing, truncated, "
               "corrupt or foreign file (the message says which), 2 usage "
               "error.\n");
  info->callback([info_file, info_json, &exit_code] {
    exit_code = bag_info(*info_file, *info_json);
  });
}

} // namespace troupe::cli
