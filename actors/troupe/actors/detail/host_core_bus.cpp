// host_core: the topic bus side: subscriptions, deliveries (one message or a
// batch, with its acknowledgement) and publishing.

#include <algorithm>
#include <exception>

#include <caf/actor_cast.hpp>
#include <caf/behavior.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/scheduled_actor.hpp>
#include <caf/send.hpp>

#include "troupe/actors/detail/bus_ack.hpp"
#include "troupe/actors/detail/host_core.hpp"

namespace troupe::detail {

// -- host plumbing ------------------------------------------------------------

namespace {

/// An outbox this long goes to the bus at once, even mid-dispatch.
constexpr size_t max_outbox = 1024;

} // namespace

void host_core::deliver(const std::string& topic, const caf::message& msg) {
  if (life_.state() == service_state::running && holding_back()) {
    held_.push_back(bus_batch{{bus_item{topic, msg}}});
    ++held_messages_;
    return;
  }
  dispatch_scope scope{*this};
  deliver_one(topic, msg);
}

void host_core::deliver_one(const std::string& topic, const caf::message& msg) {
  // While a stop waits for tracked work, only the reply subscriptions are
  // left (cancel_run kept them): their messages may end that work.
  if (life_.state() != service_state::running &&
      (life_.state() != service_state::stopping || subscriptions_.empty())) {
    count_dropped(lost::not_running, "bus message while not running");
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
    // Inline, not the out-of-line std::string::compare(pos, n, str).
    if (topic.size() < sub.prefix.size() ||
        std::char_traits<char>::compare(topic.data(), sub.prefix.data(),
                                        sub.prefix.size()) != 0)
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
    count_dropped(lost::unhandled, "bus message of unexpected type");
}

void host_core::deliver_batch(const bus_batch& b) {
  if (b.sent_ns != 0 && (++batches_seen_ & (sample_every - 1)) == 0)
    observe_mailbox_wait(b.sent_ns);
  if (suspended_ && life_.state() != service_state::running && b.ack) {
    // Failed (and maybe stopped by its supervisor since), not handled:
    // back to the bus for the next instance, which the bus keeps them for
    // (see suspend_on_bus). Its publisher waits meanwhile.
    give_back(*b.ack, b.items, true);
    return;
  }
  if (life_.state() == service_state::running && holding_back()) {
    // The copy shares the publisher's acknowledgement (`b.ack`): it stays
    // held back in turn.
    held_messages_ += b.items.size();
    held_.push_back(b);
    return;
  }
  dispatch_batch(b);
}

void host_core::dispatch_batch(const bus_batch& b) {
  dispatch_scope scope{*this};
  // Only a publisher that waits for its items sent an acknowledgement: it
  // goes when `b` is dropped (after this handler), or when the service
  // drops the last copy of a hold on it.
  auto* outer = current_ack_;
  current_ack_ = b.ack ? &b.ack : nullptr;
  if (b.ack)
    b.ack->taken = true;
  auto& xs = b.items;
  for (size_t i = 0; i < xs.size(); ++i) {
    if (b.ack && suspended_ && life_.state() != service_state::running) {
      // A handler failed the run half-way: the rest goes back to the bus
      // for the next instance (the item that threw does not).
      give_back(*b.ack, {xs.begin() + static_cast<ptrdiff_t>(i), xs.end()},
                true);
      break;
    }
    deliver_one(xs[i].topic, xs[i].msg);
  }
  current_ack_ = outer;
  // Unless a hold or another subscriber keeps it, the acknowledgement goes
  // as `b` is dropped after this handler, on this thread.
  ack_from_here(b.ack, self_->context());
}

delivery_hold host_core::hold_delivery() {
  // The publish's acknowledgement itself, not this batch's share of it:
  // the batch is taken already (nothing to give back), and every batch of
  // one publish gives the same hold.
  if (current_ack_ == nullptr || !(*current_ack_)->ack)
    return {};
  return delivery_hold{(*current_ack_)->ack};
}

void host_core::resume() {
  while (!held_back_ && life_.state() == service_state::running) {
    if (held_next_ < held_.size()) {
      auto h = std::move(held_[held_next_++]);
      if (held_next_ == held_.size()) {
        held_.clear();
        held_next_ = 0;
      }
      held_messages_ -= h.items.size();
      dispatch_batch(h);
    } else if (!due_tasks_.empty()) {
      auto id = due_tasks_.front();
      due_tasks_.erase(due_tasks_.begin());
      run_task_now(id);
    } else {
      break;
    }
  }
}

void host_core::give_back_held() {
  std::vector<bus_batch> kept;
  for (auto i = held_next_; i < held_.size(); ++i) {
    auto& b = held_[i];
    if (!b.ack) {
      kept.push_back(std::move(b));
      continue;
    }
    held_messages_ -= b.items.size();
    give_back(*b.ack, std::move(b.items), true);
  }
  held_ = std::move(kept);
  held_next_ = 0;
}

void host_core::drop_held() {
  if (held_messages_ > 0)
    count_dropped(lost::held_at_stop, "held back when the run ended",
                  held_messages_);
  // Each publisher hears that its batch was taken (as lost, counted here,
  // not given back as the batches go).
  for (auto i = held_next_; i < held_.size(); ++i)
    if (auto& a = held_[i].ack)
      a->taken = true;
  held_.clear();
  held_next_ = 0;
  held_messages_ = 0;
  due_tasks_.clear();
  unacked_ = 0;
  held_back_ = false;
}

void host_core::publish(std::string topic, caf::message msg) {
  if (!opts_.bus) {
    count_dropped(lost::no_bus, "publish without a topic bus");
    return;
  }
  ++messages_out_;
  outbox_.push_back(bus_item{std::move(topic), std::move(msg)});
  if (dispatch_depth_ == 0 || outbox_.size() >= max_outbox)
    flush_outbox();
}

void host_core::flush_outbox() {
  if (outbox_.empty() || !opts_.bus)
    return;
  bus_batch b{std::move(outbox_)};
  outbox_ = {};
  send_credited(std::move(b));
}

void host_core::send_credited(bus_batch b, std::function<void()> on_taken) {
  auto n = static_cast<uint64_t>(b.items.size());
  unacked_ += n;
  if (publish_window_ > 0 && unacked_ >= publish_window_ && !held_back_) {
    held_back_ = true;
    ++held_back_times_;
  }
  request_publish(
    std::move(b), [this, gen = run_generation_, n,
                   f = std::move(on_taken)](uint64_t unrouted, uint64_t gone) {
      if (unrouted > 0)
        count_dropped(lost::no_subscriber,
                      "published on a topic nobody subscribes to", unrouted);
      if (gone > 0)
        count_dropped(lost::subscriber_failed,
                      "lost by a subscriber that failed, not delivered again",
                      gone);
      if (gen != run_generation_)
        return; // a run that ended forgot its credit
      unacked_ -= std::min(unacked_, n);
      if (f)
        f();
      if (held_back_ && unacked_ <= publish_window_ / 2) {
        held_back_ = false;
        resume();
      }
    });
}

void host_core::request_publish(
  bus_batch batch, const std::function<void(uint64_t, uint64_t)>& done) {
  // A request: the bus answers once every batch-taking subscriber handled
  // the items. `request` is a member of the typed actor classes; the host
  // only knows the scheduled_actor base, which has all a request needs.
  auto id = self_->new_request_id(caf::message_priority::normal);
  opts_.bus->enqueue(
    caf::make_mailbox_element(
      self_->ctrl(), id, {},
      caf::make_message(publish_batch_atom::value, std::move(batch))),
    self_->context());
  self_->add_multiplexed_response_handler(
    id.response_id(),
    caf::behavior{[done](uint64_t unrouted, uint64_t lost) mutable {
                    done(unrouted, lost);
                  },
                  [done]() mutable { done(0, 0); },
                  [done](caf::error&) mutable { done(0, 0); }});
}

void host_core::publish_batch(bus_batch batch) {
  if (batch.items.empty())
    return;
  publish_batch(std::move(batch), {}); // credited like any, nobody told
}

void host_core::publish_batch(bus_batch batch, std::function<void()> on_taken) {
  if (!opts_.bus) {
    count_dropped(lost::no_bus, "publish without a topic bus",
                  batch.items.size());
    return;
  }
  messages_out_ += batch.items.size();
  flush_outbox(); // what was published before goes first
  auto done = [this, f = std::move(on_taken)] {
    // Runs only while the run that published lasts (send_credited).
    if (life_.state() != service_state::running || !f)
      return;
    dispatch_scope scope{*this};
    try {
      f();
    } catch (const std::exception& e) {
      handler_failed("publish_batch", e.what());
    } catch (...) {
      handler_failed("publish_batch", "unknown exception");
    }
  };
  send_credited(std::move(batch), std::move(done));
}

void host_core::add_subscription(std::string prefix,
                                 service::subscription_handler fn,
                                 bool replies) {
  bool first = std::none_of(subscriptions_.begin(), subscriptions_.end(),
                            [&](auto& s) { return s.prefix == prefix; });
  if (first && opts_.bus) {
    // Batches; by name, so that the bus can hand what this instance did
    // not handle to the next one.
    caf::anon_send(opts_.bus, subscribe_atom::value, prefix,
                   caf::actor_cast<caf::actor>(self_),
                   take_batches{opts_.name});
    bus_subscribed_ = true;
  }
  subscriptions_.push_back(subscription{
    std::move(prefix),
    std::make_shared<service::subscription_handler>(std::move(fn)), replies});
}

} // namespace troupe::detail
