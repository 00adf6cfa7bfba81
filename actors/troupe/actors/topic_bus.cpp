#include "troupe/actors/topic_bus.hpp"

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <caf/actor_cast.hpp>
#include <caf/actor_clock.hpp>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/response_promise.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "troupe/actors/atoms.hpp"
#include "troupe/actors/bus_batch.hpp"
#include "troupe/actors/detail/bus_ack.hpp"
#include "troupe/actors/detail/bus_plumbing.hpp"

namespace troupe {

namespace {

/// A batch goes out at once when it reaches this size; smaller ones go
/// when the bus has worked through what was in its mailbox.
constexpr size_t max_batch = 256;

/// At most this many messages wait for the next instance of one failed
/// subscriber; more are lost (counted). Publishers that wait for their
/// messages to be taken are held back long before (their publish window).
constexpr uint64_t max_parked = 1U << 20U;

struct bus_state {
  // One record per subscriber, so that a message matching several of its
  // prefixes is delivered once without a "seen" search.
  struct subscriber {
    caf::actor handle;
    std::vector<std::string> prefixes;
    bool batches = false;
    std::vector<bus_item> outbox;
    /// The service name it subscribed with (empty: none given); its next
    /// instance subscribes with the same.
    std::string name;
  };
  /// A named subscriber that failed (`bus_suspend_atom`): what it
  /// subscribed to, and the batches for it, kept for its next instance
  /// until `until`.
  struct suspended {
    std::vector<std::string> prefixes;
    std::vector<bus_batch> parked;
    uint64_t items = 0;
    caf::actor_clock::time_point until;
  };
  // In subscription order; an entry whose subscriber went down stays (with
  // no handle and no prefixes) until compacting, so that positions hold.
  std::vector<subscriber> subs;
  /// Position in `subs` of each live subscriber, by actor id: subscribing
  /// and going down cost the same with 10 or 100,000 subscribers.
  std::unordered_map<caf::actor_id, size_t> index;
  /// Entries of `subs` whose subscriber went down.
  size_t dead = 0;
  /// Scratch: the subscribers a message matches.
  std::vector<size_t> hits;
  bool flush_pending = false;
  uint64_t published = 0;
  uint64_t delivered = 0;
  /// Published messages that matched no subscriber.
  uint64_t unrouted = 0;
  /// The live subscriber of each service name (the latest to subscribe).
  std::unordered_map<std::string, caf::actor_id> by_name;
  /// Failed subscribers by name, until their next instance subscribes.
  std::unordered_map<std::string, suspended> waiting;
  /// Failed subscribers whose supervisor said no next instance will come
  /// (`bus_giveup_atom`), until one subscribes after all.
  std::unordered_set<std::string> gone;
  /// Batches delivered again, and messages lost for want of a taker.
  uint64_t redelivered = 0;
  uint64_t redelivery_lost = 0;
  /// How long messages wait for a failed subscriber's next instance.
  caf::timespan keep_for = std::chrono::seconds{30};
  static inline const char* name = "troupe.topic_bus";
};

using bus_impl = detail::bus_plumbing::stateful_base<bus_state>;

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
           std::chrono::steady_clock::now().time_since_epoch())
    .count();
}

using detail::bus_delivery;
using detail::publish_ack;

// What `send` does, to a subscriber: the bus is statically typed and its
// subscribers are not, which CAF's typed `send` refuses.
template <class... Ts>
void tell(bus_impl* self, const caf::actor& to, Ts&&... xs) {
  to->eq_impl(caf::make_message_id(), self->ctrl(), self->context(),
              std::forward<Ts>(xs)...);
}

// A share of `ack` for the batch that goes to `s`.
std::shared_ptr<bus_delivery> share(bus_impl* self,
                                    const bus_state::subscriber& s,
                                    const std::shared_ptr<publish_ack>& ack) {
  auto d = std::make_shared<bus_delivery>();
  d->ack = ack;
  d->bus = self->address();
  d->name = s.name;
  d->to = s.handle.id();
  // A subscriber without a name (an actor subscribed by hand) cannot say
  // that it took a batch: its batches count as taken when they go, as
  // before redelivery existed.
  d->taken = s.name.empty();
  return d;
}

// Sends the subscriber's outbox; with `ack`, the batch shares it (the
// publisher waits for it).
void send_outbox(bus_impl* self, bus_state::subscriber& s,
                 const std::shared_ptr<bus_delivery>& ack = nullptr) {
  if (s.outbox.empty())
    return;
  if (s.outbox.size() == 1 && !ack) {
    auto& x = s.outbox.front();
    tell(self, s.handle, deliver_atom::value, std::move(x.topic),
         std::move(x.msg));
    s.outbox.clear();
    return;
  }
  bus_batch b{std::move(s.outbox), now_ns(), ack};
  s.outbox = {};
  s.outbox.reserve(b.items.size());
  tell(self, s.handle, deliver_batch_atom::value, std::move(b));
}

// The acknowledgement a batch for `s` carries: none for the publisher
// itself (a service that takes what it publishes would otherwise wait for
// itself).
std::shared_ptr<bus_delivery> ack_for(bus_impl* self,
                                      const bus_state::subscriber& s,
                                      const std::shared_ptr<publish_ack>* ack) {
  if (ack == nullptr || !*ack)
    return nullptr;
  if ((*ack)->publisher && s.handle &&
      s.handle->ctrl() == (*ack)->publisher.get())
    return nullptr;
  return share(self, s, *ack);
}

bool matches(const std::vector<std::string>& prefixes,
             const std::string& topic) {
  // Inline, not std::string::compare(pos, n, str): that one is out of line
  // and checks its position, per message and prefix.
  return std::any_of(prefixes.begin(), prefixes.end(), [&](auto& p) {
    return topic.size() >= p.size() && std::char_traits<char>::compare(
                                         topic.data(), p.data(), p.size()) == 0;
  });
}

bool matches(const bus_state::subscriber& s, const std::string& topic) {
  return matches(s.prefixes, topic);
}

// Keeps one message of an acknowledged publish for the next instance of
// the failed subscriber `name`. False (not kept) without an
// acknowledgement: nobody would learn of its loss.
bool park(bus_impl* self, const std::string& name, bus_state::suspended& sp,
          const std::string& topic, const caf::message& msg,
          const std::shared_ptr<publish_ack>* ack) {
  if (ack == nullptr || !*ack)
    return false;
  if (sp.items >= max_parked) {
    ++(*ack)->lost;
    ++self->state.redelivery_lost;
    return true;
  }
  ++sp.items;
  auto& ps = sp.parked;
  // Appended to the last batch if that one carries the same publish and
  // was not delivered before (its attempts would count for these too).
  if (!ps.empty() && ps.back().ack->ack == *ack &&
      ps.back().ack->attempts == 1 && ps.back().items.size() < max_batch) {
    ps.back().items.push_back(bus_item{topic, msg});
    return true;
  }
  auto d = std::make_shared<bus_delivery>();
  d->ack = *ack;
  d->bus = self->address();
  d->name = name;
  ps.push_back(bus_batch{{bus_item{topic, msg}}, 0, std::move(d)});
  return true;
}

// Hands the batches kept for a failed subscriber to its next instance `s`.
void unpark(bus_impl* self, bus_state::subscriber& s,
            bus_state::suspended& sp) {
  send_outbox(self, s); // what is already on its way goes first
  for (auto& b : sp.parked) {
    if (auto& a = b.ack->ack;
        a->publisher && a->publisher.get() == s.handle->ctrl()) {
      // Published by this very instance (before it subscribed): it does not
      // wait for itself (see ack_for).
      b.ack->taken = true;
      tell(self, s.handle, deliver_batch_atom::value,
           bus_batch{std::move(b.items), now_ns()});
      continue;
    }
    b.ack->to = s.handle.id();
    b.sent_ns = now_ns();
    ++self->state.redelivered;
    tell(self, s.handle, deliver_batch_atom::value, std::move(b));
  }
  sp.parked.clear();
}

// Hands one message to subscriber `s`: directly, or through its outbox.
// With `ack`, a full outbox goes out sharing it, and the rest leaves when
// the acknowledged publish is done (no flush needed).
void put(bus_impl* self, bus_state::subscriber& s, std::string topic,
         caf::message msg, const std::shared_ptr<publish_ack>* ack) {
  auto& st = self->state;
  ++st.delivered;
  if (!s.batches) {
    tell(self, s.handle, deliver_atom::value, std::move(topic), std::move(msg));
    return;
  }
  s.outbox.push_back(bus_item{std::move(topic), std::move(msg)});
  if (s.outbox.size() >= max_batch) {
    send_outbox(self, s, ack_for(self, s, ack));
  } else if (ack == nullptr && !st.flush_pending) {
    // Goes behind everything already queued: batches fill while the bus
    // is busy and leave at once when it is not.
    st.flush_pending = true;
    self->send(self, bus_flush_atom::value);
  }
}

// The last subscriber a message matches gets `topic` and `msg` moved, the
// others copies.
void publish(bus_impl* self, std::string& topic, caf::message& msg,
             const std::shared_ptr<publish_ack>* ack = nullptr) {
  auto& st = self->state;
  ++st.published;
  auto& hits = st.hits;
  hits.clear();
  for (size_t i = 0; i < st.subs.size(); ++i)
    if (matches(st.subs[i], topic))
      hits.push_back(i);
  bool parked = false;
  for (auto& [name, sp] : st.waiting)
    if (matches(sp.prefixes, topic))
      parked = park(self, name, sp, topic, msg, ack) || parked;
  if (hits.empty()) {
    if (parked)
      return;
    ++st.unrouted;
    if (ack != nullptr)
      ++(*ack)->unrouted;
    return;
  }
  for (size_t k = 0; k + 1 < hits.size(); ++k)
    put(self, st.subs[hits[k]], topic, msg, ack);
  put(self, st.subs[hits.back()], std::move(topic), std::move(msg), ack);
}

// Publishes a batch whose publisher waits for it to be taken: whatever
// the batch adds to an outbox goes out at once, sharing its
// acknowledgement.
void publish_acknowledged(bus_impl* self, bus_batch& b) {
  auto ack = std::make_shared<publish_ack>();
  // Taking the promise keeps CAF from answering when the handler returns;
  // the answer goes when `ack` does.
  auto rp = self->make_response_promise();
  ack->publisher = rp.source();
  ack->id = rp.id();
  ack->bus = self->ctrl();
  auto& st = self->state;
  for (auto& x : b.items)
    publish(self, x.topic, x.msg, &ack);
  // Earlier items of other publishers in these outboxes go along, in order.
  for (auto& s : st.subs)
    if (s.batches && !s.outbox.empty())
      send_outbox(self, s, ack_for(self, s, &ack));
  // No subscriber kept it (nothing matched, or only the publisher itself):
  // the answer goes as this function returns, from this worker.
  if (ack.use_count() == 1)
    ack->unit = self->context();
}

bus_state::subscriber* find_sub(bus_state& st, const caf::actor& h) {
  if (!h)
    return nullptr;
  auto i = st.index.find(h.id());
  return i == st.index.end() ? nullptr : &st.subs[i->second];
}

// Forgets the subscriber with actor id `id`; compacts `subs` once more than
// half of it is dead.
void drop_sub(bus_state& st, caf::actor_id id) {
  auto i = st.index.find(id);
  if (i == st.index.end())
    return;
  if (auto& name = st.subs[i->second].name; !name.empty()) {
    auto j = st.by_name.find(name);
    if (j != st.by_name.end() && j->second == id)
      st.by_name.erase(j);
  }
  st.subs[i->second] = bus_state::subscriber{};
  st.index.erase(i);
  if (++st.dead <= 64 || st.dead * 2 <= st.subs.size())
    return;
  st.subs.erase(std::remove_if(st.subs.begin(), st.subs.end(),
                               [](auto& x) { return !x.handle; }),
                st.subs.end());
  st.dead = 0;
  for (size_t j = 0; j < st.subs.size(); ++j)
    st.index[st.subs[j].handle.id()] = j;
}

void subscribe(bus_impl* self, std::string& prefix, caf::actor& sub,
               bool batches, std::string name = {}) {
  auto& st = self->state;
  if (!sub)
    return;
  auto* i = find_sub(st, sub);
  if (i == nullptr) {
    self->monitor(sub);
    st.index[sub.id()] = st.subs.size();
    st.subs.push_back(
      bus_state::subscriber{std::move(sub), {}, batches, {}, {}});
    i = &st.subs.back();
  } else if (i->batches != batches) {
    send_outbox(self, *i); // keep the order across the switch
    i->batches = batches;
  }
  if (std::find(i->prefixes.begin(), i->prefixes.end(), prefix) ==
      i->prefixes.end())
    i->prefixes.push_back(std::move(prefix));
  if (name.empty())
    return;
  st.by_name[name] = i->handle.id();
  st.gone.erase(name);
  auto w = st.waiting.find(name);
  if (w != st.waiting.end()) {
    unpark(self, *i, w->second);
    st.waiting.erase(w);
  }
  i->name = std::move(name);
}

// A named subscriber failed: what it subscribed to waits for its next
// instance (the failed one takes nothing more), with what is published
// meanwhile. An unnamed one is unsubscribed.
void suspend(bus_impl* self, const caf::actor& sub) {
  auto& st = self->state;
  auto* i = find_sub(st, sub);
  if (i == nullptr)
    return;
  send_outbox(self, *i); // it gives back what it cannot take
  if (i->name.empty() || i->prefixes.empty()) {
    i->prefixes.clear();
    return;
  }
  auto& sp = st.waiting[i->name];
  for (auto& p : i->prefixes)
    if (std::find(sp.prefixes.begin(), sp.prefixes.end(), p) ==
        sp.prefixes.end())
      sp.prefixes.push_back(std::move(p));
  i->prefixes.clear();
  sp.until = self->clock().now() + st.keep_for;
  // One timer per failure, no polling: `expire` drops what is due then.
  self->delayed_send(self, st.keep_for, bus_expire_atom::value);
}

// A batch its subscriber did not handle (`detail::give_back`): to the
// subscriber's next instance, kept for it while it restarts, or lost.
void redeliver(bus_impl* self, bus_batch& b) {
  if (!b.ack)
    return; // nobody waits for it: nothing to tell either
  auto& st = self->state;
  auto& d = *b.ack;
  auto n = b.items.size();
  bus_state::subscriber* to = nullptr;
  if (auto j = st.by_name.find(d.name); j != st.by_name.end()) {
    auto k = st.index.find(j->second);
    if (k != st.index.end())
      to = &st.subs[k->second];
  }
  if (to != nullptr && !to->prefixes.empty() &&
      (to->handle.id() != d.to || !d.from_failed)) {
    d.to = to->handle.id();
    d.from_failed = false;
    b.sent_ns = now_ns();
    ++st.redelivered;
    send_outbox(self, *to); // keep the order of what is on its way
    tell(self, to->handle, deliver_batch_atom::value, std::move(b));
    return;
  }
  auto w = st.waiting.find(d.name);
  if (w == st.waiting.end() && d.from_failed && st.gone.count(d.name) == 0) {
    // A failed instance that did not suspend its subscriptions first (it
    // failed while starting, after the bus handed it what waited): keep
    // what it gives back for the next one all the same.
    w = st.waiting.emplace(d.name, bus_state::suspended{}).first;
    w->second.until = self->clock().now() + st.keep_for;
    self->delayed_send(self, st.keep_for, bus_expire_atom::value);
  }
  if (w != st.waiting.end() && w->second.items + n <= max_parked) {
    w->second.items += n;
    d.to = 0;
    w->second.parked.push_back(std::move(b));
    return;
  }
  st.redelivery_lost += n;
  detail::count_lost(d, n);
}

// Counts what waits for a failed subscriber's next instance as lost, in
// each publisher's answer.
void drop_parked(bus_state& st, bus_state::suspended& sp) {
  for (auto& b : sp.parked) {
    st.redelivery_lost += b.items.size();
    detail::count_lost(*b.ack, b.items.size());
  }
  sp.parked.clear();
}

// Drops what waited too long for a failed subscriber's next instance.
void expire(bus_impl* self) {
  auto& st = self->state;
  auto now = self->clock().now();
  for (auto i = st.waiting.begin(); i != st.waiting.end();) {
    if (i->second.until > now) {
      ++i;
      continue;
    }
    drop_parked(st, i->second);
    i = st.waiting.erase(i);
  }
}

// No next instance of `name` will come (its supervisor said so).
void give_up(bus_impl* self, const std::string& name) {
  auto& st = self->state;
  st.gone.insert(name);
  auto i = st.waiting.find(name);
  if (i == st.waiting.end())
    return;
  drop_parked(st, i->second);
  st.waiting.erase(i);
}

detail::bus_plumbing::behavior_type bus_fun(bus_impl* self) {
  self->set_down_handler(
    [self](caf::down_msg& dm) { drop_sub(self->state, dm.source.id()); });
  return {
    [self](subscribe_atom, std::string& prefix, caf::actor& sub) {
      subscribe(self, prefix, sub, false);
    },
    [self](subscribe_atom, std::string& prefix, caf::actor& sub,
           take_batches& how) {
      subscribe(self, prefix, sub, true, std::move(how.service_name));
    },
    [self](bus_suspend_atom, const caf::actor& sub) { suspend(self, sub); },
    [self](bus_redeliver_atom, bus_batch& b) { redeliver(self, b); },
    [self](bus_expire_atom) { expire(self); },
    [self](bus_giveup_atom, const std::string& name) { give_up(self, name); },
    [self](unsubscribe_atom, const std::string& prefix, const caf::actor& sub) {
      auto& st = self->state;
      auto* i = find_sub(st, sub);
      if (i == nullptr)
        return;
      // What was published before the unsubscription still goes out.
      send_outbox(self, *i);
      auto& ps = i->prefixes;
      ps.erase(std::remove(ps.begin(), ps.end(), prefix), ps.end());
    },
    [self](publish_atom, std::string& topic, caf::message& msg) {
      publish(self, topic, msg);
    },
    [self](publish_batch_atom, bus_batch& b) {
      // The answer goes when the batch was taken (publish_acknowledged).
      caf::delegated<uint64_t, uint64_t> later;
      if (self->current_message_id().is_request()) {
        publish_acknowledged(self, b);
        return later;
      }
      for (auto& x : b.items)
        publish(self, x.topic, x.msg);
      return later;
    },
    [self](bus_flush_atom) {
      self->state.flush_pending = false;
      for (auto& s : self->state.subs)
        send_outbox(self, s);
    },
    [self](status_atom) {
      auto& st = self->state;
      uint64_t n = 0;
      for (auto& s : st.subs)
        n += s.prefixes.size();
      return caf::result<uint64_t, uint64_t, uint64_t>{n, st.published,
                                                       st.delivered};
    },
    [self](status_atom, bus_redeliver_atom) {
      auto& st = self->state;
      uint64_t waiting = 0;
      for (auto& [_, sp] : st.waiting)
        waiting += sp.items;
      return caf::result<uint64_t, uint64_t, uint64_t>{st.redelivered, waiting,
                                                       st.redelivery_lost};
    },
  };
}

} // namespace

namespace detail {

publish_ack::~publish_ack() {
  if (!publisher)
    return;
  try {
    // Without a unit: the scheduler's thread-safe way in, whichever
    // thread this runs on.
    publisher->enqueue(
      caf::make_mailbox_element(std::move(bus), id.response_id(), {},
                                caf::make_message(unrouted, lost.load())),
      unit);
  } catch (...) { // NOLINT(bugprone-empty-catch): nobody to tell
  }
}

void count_lost(bus_delivery& d, uint64_t n) noexcept {
  d.taken = true;
  if (d.ack)
    d.ack->lost += n;
}

void give_back(bus_delivery& d, std::vector<bus_item> items, bool failed) {
  d.taken = true;
  if (items.empty())
    return;
  auto bus = caf::actor_cast<caf::strong_actor_ptr>(d.bus);
  if (!bus || d.name.empty() || d.attempts >= bus_delivery::max_attempts) {
    count_lost(d, items.size());
    return;
  }
  auto next = std::make_shared<bus_delivery>();
  next->ack = d.ack;
  next->bus = d.bus;
  next->name = d.name;
  next->to = d.to;
  next->attempts = static_cast<uint8_t>(d.attempts + 1);
  next->from_failed = failed;
  // If the bus is gone, the message dies here and its batch comes back
  // once more per attempt left, then counts as lost.
  bus->enqueue(
    caf::make_mailbox_element(
      nullptr, caf::make_message_id(), {},
      caf::make_message(bus_redeliver_atom::value,
                        bus_batch{std::move(items), 0, std::move(next)})),
    nullptr);
}

void ack_from_here(const std::shared_ptr<bus_delivery>& ack,
                   caf::execution_unit* unit) {
  // Only this thread holds `ack` and its publish's acknowledgement: nobody
  // can copy them meanwhile, and the last reference goes here.
  if (ack && ack.use_count() == 1 && ack->ack && ack->ack.use_count() == 1)
    ack->ack->unit = unit;
}

} // namespace detail

bus_batch::~bus_batch() {
  // The last copy of a batch that its subscriber never accepted: it died
  // with the batch in its mailbox (or kept back). Copies live in one
  // actor (its mailbox and what its host keeps back), so the count does
  // not race.
  if (ack && !ack->taken && ack.use_count() == 1 && !items.empty())
    detail::give_back(*ack, std::move(items), true);
}

bus_actor spawn_topic_bus(caf::actor_system& sys) {
  return sys.spawn(bus_fun);
}

bus_actor spawn_topic_bus(caf::actor_system& sys, caf::timespan keep_for) {
  return sys.spawn([keep_for](bus_impl* self) {
    self->state.keep_for = keep_for;
    return bus_fun(self);
  });
}

} // namespace troupe
