#include "troupe/actors/detail/weak_timer.hpp"

#include <utility>

#include <caf/actor_clock.hpp>
#include <caf/actor_system.hpp>
#include <caf/make_actor.hpp>
#include <caf/monitorable_actor.hpp>

namespace troupe::detail {

namespace {

// Not a scheduled actor: the clock thread calls enqueue() itself, which
// passes the message on to the receiver if it still lives. Nothing here
// touches the scheduler, so a timer that fires while an actor system shuts
// down (CAF 0.17 stops its workers before its timer thread) or that is
// destroyed with the clock does no harm. A hidden scheduled relay could be
// woken then, into a scheduler that no longer runs it (the likeliest cause
// of one exit 1 of process.demo under ASan, which did not reproduce).
class weak_forwarder final : public caf::monitorable_actor {
public:
  weak_forwarder(caf::actor_config& cfg, caf::weak_actor_ptr receiver)
    : caf::monitorable_actor(cfg), receiver_(std::move(receiver)) {}

  void enqueue(caf::mailbox_element_ptr what,
               caf::execution_unit* host) override {
    if (auto dest = receiver_.lock())
      dest->enqueue(std::move(what), host);
  }

  const char* name() const override { return "troupe.timer"; }

private:
  caf::weak_actor_ptr receiver_;
};

} // namespace

void send_later(caf::actor_system& sys, const caf::strong_actor_ptr& receiver,
                std::chrono::nanoseconds delay, caf::message msg) {
  caf::actor_config cfg;
  auto fwd = caf::make_actor<weak_forwarder, caf::strong_actor_ptr>(
    sys.next_actor_id(), sys.node(), &sys, cfg,
    caf::weak_actor_ptr{receiver.get()});
  auto& clock = sys.clock();
  clock.schedule_message(clock.now() + delay, std::move(fwd),
                         caf::make_mailbox_element(nullptr,
                                                   caf::make_message_id(), {},
                                                   std::move(msg)));
}

} // namespace troupe::detail
