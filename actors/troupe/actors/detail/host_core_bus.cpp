// host_core: the topic bus side: subscriptions, deliveries (one message or a
// batch, with its acknowledgement) and publishing.

#include <algorithm>
#include <exception>

#include <caf/actor_cast.hpp>
#include <caf/behavior.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/response_promise.hpp>
#include <caf/scheduled_actor.hpp>
#include <caf/send.hpp>

#include "troupe/actors/detail/host_core.hpp"

namespace troupe::detail {

// -- host plumbing
// ----------------------------------------------------------------

void host_core::deliver(const std::string& topic, const caf::message& msg) {
  if (state_ != service_state::running) {
    count_dropped("bus message while not running");
    return;
  }
  bool handled = false;
  auto gen = run_generation_;
  // Handlers may subscribe or fail; iterate by index over a stable run. Not a
  // range-for: a handler that subscribes grows subscriptions_, which would
  // invalidate its iterators.
  // NOLINTNEXTLINE(modernize-loop-convert)
  for (size_t i = 0; i < subscriptions_.size(); ++i) {
    auto& sub = subscriptions_[i];
    if (topic.compare(0, sub.prefix.size(), sub.prefix) != 0)
      continue;
    try {
      auto fn = sub.fn; // the handler may cancel the run and clear the list
      handled = (*fn)(topic, msg) || handled;
    } catch (const std::exception& e) {
      handler_failed("subscription", e.what());
      return;
    } catch (...) {
      handler_failed("subscription", "unknown exception");
      return;
    }
    if (gen != run_generation_)
      break;
  }
  if (handled)
    ++messages_in_;
  else
    count_dropped("bus message of unexpected type");
}

void host_core::deliver_batch(const bus_batch& b) {
  // Only a publisher that passed `on_taken` sent the batch as a request.
  delivering_batch_ = self_->current_message_id().is_request();
  for (auto& x : b.items)
    deliver(x.topic, x.msg);
  delivering_batch_ = false;
  // Without a hold, CAF answers the request as this handler returns; with
  // one, the answer goes when the service drops its last copy.
  current_hold_.release();
}

delivery_hold host_core::hold_delivery() {
  if (!delivering_batch_)
    return {};
  if (!current_hold_) {
    auto rp = self_->make_response_promise();
    if (!rp.pending())
      return {};
    auto ack = std::shared_ptr<caf::response_promise>(
      new caf::response_promise(std::move(rp)), [](caf::response_promise* p) {
        try {
          p->deliver(caf::unit);
        } catch (...) { // NOLINT(bugprone-empty-catch): nobody to tell
        }
        delete p; // NOLINT(cppcoreguidelines-owning-memory)
      });
    current_hold_ = delivery_hold{std::move(ack)};
  }
  return current_hold_;
}

void host_core::publish(std::string topic, caf::message msg) {
  if (!opts_.bus) {
    count_dropped("publish without a topic bus");
    return;
  }
  ++messages_out_;
  caf::anon_send(opts_.bus, publish_atom::value, std::move(topic),
                 std::move(msg));
}

void host_core::publish_batch(bus_batch batch) {
  if (!opts_.bus) {
    count_dropped("publish without a topic bus");
    return;
  }
  if (batch.items.empty())
    return;
  messages_out_ += batch.items.size();
  caf::anon_send(opts_.bus, publish_batch_atom::value, std::move(batch));
}

void host_core::publish_batch(bus_batch batch, std::function<void()> on_taken) {
  if (!opts_.bus) {
    count_dropped("publish without a topic bus");
    return;
  }
  messages_out_ += batch.items.size();
  // A request: the bus answers once every batch-taking subscriber handled
  // the items. `request` is a member of the typed actor classes; the host
  // only knows the scheduled_actor base, which has all a request needs.
  auto id = self_->new_request_id(caf::message_priority::normal);
  opts_.bus->enqueue(
    caf::make_mailbox_element(
      self_->ctrl(), id, {},
      caf::make_message(publish_batch_atom::value, std::move(batch))),
    self_->context());
  auto done = [this, gen = run_generation_, f = std::move(on_taken)] {
    // A continuation of an earlier run (or of a stopped service) must not
    // publish into this one.
    if (gen != run_generation_ || state_ != service_state::running || !f)
      return;
    try {
      f();
    } catch (const std::exception& e) {
      handler_failed("publish_batch", e.what());
    } catch (...) {
      handler_failed("publish_batch", "unknown exception");
    }
  };
  self_->add_multiplexed_response_handler(
    id.response_id(), caf::behavior{[done]() mutable { done(); },
                                    [done](caf::error&) mutable { done(); }});
}

void host_core::add_subscription(std::string prefix,
                                 service::subscription_handler fn) {
  bool first = std::none_of(subscriptions_.begin(), subscriptions_.end(),
                            [&](auto& s) { return s.prefix == prefix; });
  if (first && opts_.bus)
    caf::anon_send(opts_.bus, subscribe_atom::value, prefix,
                   caf::actor_cast<caf::actor>(self_), true); // batches
  subscriptions_.push_back(subscription{
    std::move(prefix),
    std::make_shared<service::subscription_handler>(std::move(fn))});
}

} // namespace troupe::detail
