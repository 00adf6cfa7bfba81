// replay: a recorded workload (`troupe record`, a bag file) driven through
// troupe and through raw cppzmq in the same run, alternating repetitions.
//
// One sender, the same on both sides: a cppzmq PUSH on its own thread sends
// the bag's messages as they were recorded (topic, payload and, where there
// was one, the meta frame; in order, as fast as the receiver takes them),
// the whole bag over and over until at least `min_messages` went. troupe
// receives them with a bridge PULL endpoint (codec json when every payload
// is JSON, as the recorded endpoint most likely had, else raw) that
// publishes each one on the local bus to a counting service; raw receives
// them with a cppzmq PULL that checks each payload with nlohmann's
// `json::accept` as the bridge does. Timed from the sender's start to the
// last arrival.

#include "scenarios.hpp"

#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "bridge_flow.hpp"
#include "bridge_node.hpp"
#include "measure.hpp"
#include "peer_process.hpp"
#include "troupe/bridge/bag.hpp"

namespace troupe::bench {

namespace {

using std::chrono::steady_clock;

/// How long one measurement may take.
constexpr std::chrono::seconds replay_timeout{120};

struct workload {
  std::vector<bridge::bag_message> msgs;
  bool json = true;
  size_t largest = 0;
  uint64_t bytes = 0;
  /// Passes over the bag per measurement.
  uint64_t passes = 1;

  uint64_t total() const { return msgs.size() * passes; }
};

workload load(const std::string& file, bool quick) {
  std::string err;
  auto bag = bridge::bag_reader::open(file, err);
  if (!bag)
    throw std::runtime_error(err);
  workload w;
  bridge::bag_message m;
  while (bag->next(m, err)) {
    w.json = w.json && nlohmann::json::accept(m.payload);
    w.largest = std::max(w.largest, m.payload.size());
    w.bytes += m.payload.size();
    w.msgs.push_back(m);
  }
  if (!err.empty())
    throw std::runtime_error(err);
  if (w.msgs.empty())
    throw std::runtime_error(file + ": no messages to replay");
  uint64_t min_messages = quick ? 20'000 : 200'000;
  w.passes = (min_messages + w.msgs.size() - 1) / w.msgs.size();
  return w;
}

/// Sends the workload to `address` on a thread of its own.
class sender {
public:
  sender(const workload& w, std::string address)
    : w_(w), address_(std::move(address)) {
    thread_ = std::thread{[this] { run(); }};
  }
  ~sender() {
    if (thread_.joinable())
      thread_.join();
  }
  sender(const sender&) = delete;
  sender& operator=(const sender&) = delete;

  /// Joins the thread; throws what went wrong.
  void finish() {
    thread_.join();
    if (!error_.empty())
      throw std::runtime_error(error_);
  }

private:
  void run() {
    try {
      zmq::context_t ctx{1};
      zmq::socket_t s{ctx, zmq::socket_type::push};
      s.set(zmq::sockopt::sndhwm, hwm);
      s.set(zmq::sockopt::sndtimeo, 20'000);
      s.set(zmq::sockopt::linger, 20'000);
      s.connect(address_);
      for (uint64_t pass = 0; pass < w_.passes; ++pass)
        for (auto& m : w_.msgs) {
          if (!s.send(zmq::buffer(m.topic), zmq::send_flags::sndmore)) {
            error_ = "sender: the receiver took nothing for 20 s";
            return;
          }
          s.send(zmq::buffer(m.payload),
                 m.has_meta ? zmq::send_flags::sndmore : zmq::send_flags::none);
          if (m.has_meta)
            s.send(zmq::buffer(m.meta), zmq::send_flags::none);
        }
    } catch (const zmq::error_t& e) {
      error_ = std::string{"sender: "} + e.what();
    }
  }

  const workload& w_;
  std::string address_;
  std::string error_;
  std::thread thread_;
};

double raw_replay(const workload& w) {
  zmq::context_t ctx{1};
  zmq::socket_t pull{ctx, zmq::socket_type::pull};
  pull.set(zmq::sockopt::rcvhwm, hwm);
  pull.set(zmq::sockopt::rcvtimeo, 20'000);
  pull.bind("tcp://127.0.0.1:*");
  auto address = pull.get(zmq::sockopt::last_endpoint);
  auto n = w.total();
  auto t0 = steady_clock::now();
  sender tx{w, address};
  uint64_t received = 0;
  uint64_t invalid = 0;
  zmq::message_t frame;
  while (received < n) {
    if (!pull.recv(frame))
      throw std::runtime_error("raw: nothing arrived for 20 s after " +
                               std::to_string(received) + " of " +
                               std::to_string(n) + " messages");
    size_t k = 1;
    bool checked = false;
    while (frame.more()) {
      (void)pull.recv(frame);
      if (++k == 2 && w.json)
        checked = nlohmann::json::accept(frame.to_string_view());
    }
    invalid += w.json && !checked ? 1 : 0;
    ++received;
  }
  auto secs = std::chrono::duration<double>(steady_clock::now() - t0).count();
  tx.finish();
  expect_count("raw: payloads that are not JSON", 0, invalid);
  return static_cast<double>(n) / secs;
}

struct count_progress {
  explicit count_progress(uint64_t n) : n(n) {}
  const uint64_t n;
  std::atomic<uint64_t> received{0};
  std::atomic<int64_t> complete_ns{0};
};

// Counts every envelope on the bus; notes when the last one came.
class count_service : public service {
public:
  explicit count_service(std::shared_ptr<count_progress> p)
    : p_(std::move(p)) {}

  hook_result on_start() override {
    subscribe<bridge::envelope>(
      "", [this](const std::string&, const bridge::envelope&) {
        if (p_->received.fetch_add(1, std::memory_order_relaxed) + 1 == p_->n)
          p_->complete_ns.store(now_ns(), std::memory_order_release);
      });
    return hook_result::success();
  }

private:
  std::shared_ptr<count_progress> p_;
};

double troupe_replay(const run_options& opts, const workload& w) {
  temp_dir dir;
  auto in = endpoint({{"socket", "pull"},
                      {"bind", bind_address("tcp", dir, "in")},
                      {"codec", w.json ? "json" : "raw"},
                      {"max_message_bytes",
                       static_cast<int64_t>(std::max<size_t>(w.largest, 1024))},
                      {"hwm", int64_t{hwm}}});
  node nd{opts.threads, config::table{{"in", std::move(in)}}};
  auto n = w.total();
  auto p = std::make_shared<count_progress>(n);
  nd.add<count_service>("count", p);
  auto t0 = now_ns();
  sender tx{w, nd.address("in")};
  auto deadline = steady_clock::now() + replay_timeout;
  while (p->complete_ns.load(std::memory_order_acquire) == 0) {
    if (steady_clock::now() > deadline)
      throw std::runtime_error("troupe: timed out with " +
                               std::to_string(p->received.load()) + " of " +
                               std::to_string(n) + " messages counted");
    std::this_thread::sleep_for(std::chrono::milliseconds{1});
  }
  auto secs =
    static_cast<double>(p->complete_ns.load() - t0) / 1e9; // steady ns
  tx.finish();
  auto st = nd.endpoint_stats("in");
  expect_count("troupe: malformed messages at the receiving bridge", 0,
               st["malformed_total"].get<uint64_t>());
  nd.stop_bridge();
  expect_count("troupe: messages counted", n, p->received.load());
  return static_cast<double>(n) / secs;
}

} // namespace

scenario replay_scenario(const std::string& file) {
  return {"replay",
          "a recorded bag (--replay FILE) sent by a cppzmq PUSH into "
          "a bridge PULL endpoint -> bus -> service, vs a raw "
          "cppzmq PULL (msg/s)",
          [file](const run_options& opts) {
            auto w = std::make_shared<workload>(load(file, opts.quick));
            auto workload_text =
              " messages: " + std::to_string(w->passes) + " pass(es) over " +
              file + " (" + std::to_string(w->msgs.size()) + " messages, " +
              std::to_string(w->bytes) +
              " payload bytes) in recorded order, as fast as the receiver "
              "takes them, from one cppzmq PUSH over tcp; troupe: bridge "
              "PULL endpoint (codec " +
              (w->json ? "json" : "raw") +
              ", the default batch setting) -> bus -> a service counting "
              "envelopes; raw: "
              "cppzmq PULL" +
              (w->json ? " checking each payload with json::accept" : "");
            auto r = compare(
              opts, "replay", "msg/s",
              std::to_string(w->total()) + workload_text,
              [w] { return raw_replay(*w); },
              [w, &opts] { return troupe_replay(opts, *w); });
            r.payload_bytes = w->bytes / w->msgs.size();
            return r;
          },
          false};
}

} // namespace troupe::bench
