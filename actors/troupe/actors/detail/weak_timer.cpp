#include "troupe/actors/detail/weak_timer.hpp"

#include <mutex>
#include <unordered_map>
#include <utility>

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>

namespace troupe::detail {

namespace {

struct weak_delivery {
  caf::weak_actor_ptr receiver;
  caf::message msg;
};

} // namespace
} // namespace troupe::detail

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::detail::weak_delivery)

namespace troupe::detail {

namespace {

caf::behavior timer_relay(caf::event_based_actor* self) {
  return {
    [self](weak_delivery& d) {
      if (auto dest = d.receiver.lock())
        dest->enqueue(nullptr, caf::make_message_id(), std::move(d.msg),
                      self->context());
    },
  };
}

// One relay per actor system, alive while a timer or a send_later caller
// holds it: the map keeps only weak references, so that nothing outlives
// its system (not the registry: it releases its actors after the clock is
// gone, and a relay destroyed then crashes in CAF's cleanup). A system at
// the address of a destroyed one finds that one's relay expired.
caf::actor relay(caf::actor_system& sys) {
  static std::mutex mtx;
  static std::unordered_map<const caf::actor_system*, caf::weak_actor_ptr>
    relays;
  std::lock_guard<std::mutex> guard{mtx};
  auto& slot = relays[&sys];
  if (auto r = slot.lock())
    return caf::actor_cast<caf::actor>(std::move(r));
  // Hidden: the system does not wait for it at shutdown.
  auto r = sys.spawn<caf::hidden>(timer_relay);
  slot = caf::actor_cast<caf::weak_actor_ptr>(r);
  return r;
}

} // namespace

void send_later(caf::actor_system& sys, const caf::strong_actor_ptr& receiver,
                std::chrono::nanoseconds delay, caf::message msg) {
  caf::delayed_anon_send(
    relay(sys), delay,
    weak_delivery{caf::weak_actor_ptr{receiver.get()}, std::move(msg)});
}

} // namespace troupe::detail
