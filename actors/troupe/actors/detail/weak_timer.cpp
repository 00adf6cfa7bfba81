#include "troupe/actors/detail/weak_timer.hpp"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include <caf/actor_clock.hpp>
#include <caf/actor_registry.hpp>
#include <caf/actor_system.hpp>
#include <caf/detail/test_actor_clock.hpp>
#include <caf/make_actor.hpp>
#include <caf/monitorable_actor.hpp>

namespace troupe::detail {

namespace {

using time_point = std::chrono::steady_clock::time_point;

// Hands `msg` to `receiver` if it still lives. Called from a thread that is
// not a scheduler worker (the troupe timer's, or CAF's clock thread), so it
// touches no scheduler state of its own: the receiver's enqueue schedules
// the receiver as any message from outside would.
void deliver(const caf::weak_actor_ptr& receiver, caf::message msg) {
  if (auto dest = receiver.lock())
    dest->enqueue(caf::make_mailbox_element(nullptr, caf::make_message_id(), {},
                                            std::move(msg)),
                  nullptr);
}

// One delivery waiting in the heap.
struct pending {
  time_point due;
  uint64_t seq; // ties: first scheduled, first delivered
  caf::weak_actor_ptr receiver;
  caf::message msg;
};

struct later_first {
  bool operator()(const pending& a, const pending& b) const {
    return a.due != b.due ? a.due > b.due : a.seq > b.seq;
  }
};

// The heap and the thread that serves it. The thread sleeps until the
// earliest deadline (or until an earlier one is added), takes everything
// that is due under the lock and delivers it outside the lock.
class timer_thread {
public:
  timer_thread() : thread_([this] { run(); }) {}

  timer_thread(const timer_thread&) = delete;
  timer_thread& operator=(const timer_thread&) = delete;

  ~timer_thread() {
    {
      std::lock_guard<std::mutex> guard{mx_};
      done_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }

  void add(time_point due, caf::weak_actor_ptr receiver, caf::message msg) {
    bool earlier = false;
    {
      std::lock_guard<std::mutex> guard{mx_};
      earlier = heap_.empty() || due < heap_.front().due;
      heap_.push_back(
        pending{due, seq_++, std::move(receiver), std::move(msg)});
      std::push_heap(heap_.begin(), heap_.end(), later_first{});
    }
    if (earlier)
      cv_.notify_one();
  }

  size_t size() {
    std::lock_guard<std::mutex> guard{mx_};
    return heap_.size();
  }

private:
  void run() {
    std::vector<pending> due;
    std::unique_lock<std::mutex> lock{mx_};
    while (!done_) {
      if (heap_.empty()) {
        cv_.wait(lock);
        continue;
      }
      auto next = heap_.front().due;
      auto now = std::chrono::steady_clock::now();
      if (now < next) {
        cv_.wait_until(lock, next);
        continue;
      }
      while (!heap_.empty() && heap_.front().due <= now) {
        std::pop_heap(heap_.begin(), heap_.end(), later_first{});
        due.push_back(std::move(heap_.back()));
        heap_.pop_back();
      }
      lock.unlock();
      for (auto& p : due)
        deliver(p.receiver, std::move(p.msg));
      due.clear();
      lock.lock();
    }
  }

  std::mutex mx_;
  std::condition_variable cv_;
  std::vector<pending> heap_;
  uint64_t seq_ = 0;
  bool done_ = false;
  std::thread thread_; // last: starts after the fields it uses exist
};

// Keeps an actor system's timer. It is an actor only so that it can live in
// the system's registry under a name, which gives one per system and ends
// it with the system: CAF clears the registry after its scheduler stopped
// and every actor ended, and the destructor then stops and joins the
// thread. It takes no messages and is never scheduled.
class timer_holder final : public caf::monitorable_actor {
public:
  explicit timer_holder(caf::actor_config& cfg) : caf::monitorable_actor(cfg) {}

  void enqueue(caf::mailbox_element_ptr, caf::execution_unit*) override {
    // Nobody sends to it; anything that does arrive is dropped.
  }

  const char* name() const override { return "troupe.timer"; }

  timer_thread timer;
};

// Not a scheduled actor either: CAF's clock thread calls enqueue() itself
// (the deterministic test clock, used only under CAF's test coordinator).
class weak_forwarder final : public caf::monitorable_actor {
public:
  weak_forwarder(caf::actor_config& cfg, caf::weak_actor_ptr receiver)
    : caf::monitorable_actor(cfg), receiver_(std::move(receiver)) {}

  void enqueue(caf::mailbox_element_ptr what,
               caf::execution_unit* host) override {
    if (auto dest = receiver_.lock())
      dest->enqueue(std::move(what), host);
  }

  const char* name() const override { return "troupe.timer.forward"; }

private:
  caf::weak_actor_ptr receiver_;
};

const caf::atom_value timer_key = caf::atom("troupe_tmr");

timer_holder* find_timer(caf::actor_system& sys) {
  auto ptr = sys.registry().get(timer_key);
  return ptr ? static_cast<timer_holder*>(
                 caf::actor_cast<caf::abstract_actor*>(ptr))
             : nullptr;
}

// The system's timer, made on first use. The holder stays referenced by
// the registry, so the raw pointer stays valid while the system runs.
timer_holder& timer_of(caf::actor_system& sys) {
  static std::mutex creating;
  if (auto* t = find_timer(sys))
    return *t;
  std::lock_guard<std::mutex> guard{creating};
  if (auto* t = find_timer(sys))
    return *t;
  caf::actor_config cfg;
  auto holder = caf::make_actor<timer_holder, caf::strong_actor_ptr>(
    sys.next_actor_id(), sys.node(), &sys, cfg);
  sys.registry().put(timer_key, holder);
  return *static_cast<timer_holder*>(
    caf::actor_cast<caf::abstract_actor*>(holder));
}

bool virtual_time(caf::actor_system& sys) {
  return dynamic_cast<caf::detail::test_actor_clock*>(&sys.clock()) != nullptr;
}

} // namespace

time_point due_for(time_point now, std::chrono::nanoseconds delay) {
  using std::chrono::milliseconds;
  delay = std::max(delay, std::chrono::nanoseconds{0});
  // Far beyond any run: keep the arithmetic away from overflow.
  delay = std::min<std::chrono::nanoseconds>(
    delay, std::chrono::hours{24 * 365 * 100});
  auto due = now + delay;
  auto grid = delay >= std::chrono::seconds{10}  ? milliseconds{100}
              : delay >= std::chrono::seconds{1} ? milliseconds{10}
              : delay >= milliseconds{100}       ? milliseconds{1}
                                                 : milliseconds{0};
  if (grid.count() == 0)
    return due;
  auto since = due.time_since_epoch();
  auto steps = (since + grid - std::chrono::nanoseconds{1}) / grid;
  return time_point{
    std::chrono::duration_cast<time_point::duration>(steps * grid)};
}

void send_later(caf::actor_system& sys, const caf::strong_actor_ptr& receiver,
                std::chrono::nanoseconds delay, caf::message msg) {
  if (virtual_time(sys)) {
    caf::actor_config cfg;
    auto fwd = caf::make_actor<weak_forwarder, caf::strong_actor_ptr>(
      sys.next_actor_id(), sys.node(), &sys, cfg,
      caf::weak_actor_ptr{receiver.get()});
    auto& clock = sys.clock();
    clock.schedule_message(clock.now() + delay, std::move(fwd),
                           caf::make_mailbox_element(nullptr,
                                                     caf::make_message_id(), {},
                                                     std::move(msg)));
    return;
  }
  timer_of(sys).timer.add(due_for(std::chrono::steady_clock::now(), delay),
                          caf::weak_actor_ptr{receiver.get()}, std::move(msg));
}

size_t pending_timers(caf::actor_system& sys) {
  auto* t = find_timer(sys);
  return t ? t->timer.size() : 0;
}

} // namespace troupe::detail
