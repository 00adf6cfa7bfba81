#include "bridge_flow.hpp"

#include <cstdio>
#include <stdexcept>

#include "peer_process.hpp"

namespace troupe::bench {

namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

struct sender_report {
  bool done = false;
  uint64_t sent = 0;
  uint64_t dropped = 0;
};

// Reads "done sent=N dropped=N".
void take_line(const std::string& line, sender_report& rep) {
  unsigned long long sent = 0;
  unsigned long long dropped = 0;
  if (std::sscanf(line.c_str(), "done sent=%llu dropped=%llu", &sent,
                  &dropped) != 2)
    throw std::runtime_error("unexpected line from the peer: '" + line + "'");
  rep.done = true;
  rep.sent = sent;
  rep.dropped = dropped;
}

void check(rx_progress& p) {
  if (auto f = p.failure(); !f.empty())
    throw std::runtime_error(f);
}

} // namespace

pattern parse_pattern(const std::string& s) {
  if (s == "push_pull")
    return pattern::push_pull;
  if (s == "pub_sub")
    return pattern::pub_sub;
  throw std::runtime_error("unknown pattern '" + s + "'");
}

std::string bind_address(const std::string& transport, const temp_dir& dir,
                         const std::string& name) {
  if (transport == "tcp")
    return "tcp://127.0.0.1:*";
  return "ipc://" + dir.path() + "/" + name + ".sock";
}

void rx_progress::on(const void* data, size_t len) {
  if (len != size) {
    fail("payload of " + std::to_string(len) + " bytes, expected " +
         std::to_string(size));
    return;
  }
  auto seq = get_seq(data);
  if (seq == warm_seq) {
    warm.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (seq < next || seq >= n) {
    fail("message " + std::to_string(seq) + " arrived after " +
         std::to_string(next) + " (duplicate, reordered or corrupt)");
    return;
  }
  next = seq + 1;
  received.fetch_add(1, std::memory_order_relaxed);
  if (seq == n - 1)
    complete_ns.store(now_ns(), std::memory_order_release);
}

void await_warm(rx_progress& p, line_channel& ch, const step_fn& step) {
  auto deadline = steady_clock::now() + warm_timeout;
  while (p.warm.load() == 0) {
    step(milliseconds{2});
    check(p);
    if (auto line = ch.receive(milliseconds{0}))
      throw std::runtime_error("unexpected line from the peer: '" + *line +
                               "'");
    if (steady_clock::now() > deadline)
      throw std::runtime_error(
        "no warm-up message arrived within " +
        std::to_string(warm_timeout.count()) +
        " s (connection or subscription never established)");
  }
}

flow_outcome receive_flow(rx_progress& p, line_channel& ch, const step_fn& step,
                          pattern pat, const std::string& side,
                          bool sender_may_drop) {
  sender_report rep;
  auto t_go = steady_clock::now();
  ch.send("go");
  uint64_t seen = 0;
  auto last_change = t_go;
  auto finish = [&](steady_clock::time_point end) {
    // The sender reports once its last message went out, which may be after
    // the receiver has it: wait for its counts (not timed).
    if (!rep.done)
      take_line(ch.expect("'done'", milliseconds{30'000}), rep);
    auto got = p.received.load();
    auto secs = std::chrono::duration<double>(end - t_go).count();
    if (got == 0 || secs <= 0)
      throw std::runtime_error(side + ": nothing received");
    flow_outcome out{static_cast<double>(got) / secs, p.n - got};
    if (rep.dropped > 0 && !sender_may_drop)
      throw std::runtime_error(side + ": the sender dropped " +
                               std::to_string(rep.dropped) +
                               " message(s) under on_full = block");
    if (pat == pattern::push_pull && out.lost > 0)
      throw std::runtime_error(side + ": " + std::to_string(out.lost) + " of " +
                               std::to_string(p.n) +
                               " messages lost over PUSH/PULL with "
                               "blocking sends");
    return out;
  };
  for (;;) {
    step(milliseconds{2});
    check(p);
    if (auto ns = p.complete_ns.load(std::memory_order_acquire); ns != 0) {
      return finish(steady_clock::time_point{std::chrono::nanoseconds{ns}});
    }
    while (auto line = ch.receive(milliseconds{0}))
      take_line(*line, rep);
    auto now = steady_clock::now();
    if (auto got = p.received.load(); got != seen) {
      seen = got;
      last_change = now;
    }
    if (rep.done && now - last_change > settle_time)
      return finish(last_change);
    if (now - t_go > flow_timeout)
      throw std::runtime_error(
        side + ": timed out after " + std::to_string(flow_timeout.count()) +
        " s with " + std::to_string(p.received.load()) + " of " +
        std::to_string(p.n) + " messages received");
  }
}

} // namespace troupe::bench
