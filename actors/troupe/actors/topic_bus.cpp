#include "troupe/actors/topic_bus.hpp"

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/response_promise.hpp>
#include <caf/stateful_actor.hpp>

#include "troupe/actors/atoms.hpp"
#include "troupe/actors/bus_batch.hpp"
#include "troupe/actors/detail/bus_ack.hpp"

namespace troupe {

namespace {

/// A batch goes out at once when it reaches this size; smaller ones go
/// when the bus has worked through what was in its mailbox.
constexpr size_t max_batch = 256;

struct bus_state {
  // One record per subscriber, so that a message matching several of its
  // prefixes is delivered once without a "seen" search.
  struct subscriber {
    caf::actor handle;
    std::vector<std::string> prefixes;
    bool batches = false;
    std::vector<bus_item> outbox;
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
  static inline const char* name = "troupe.topic_bus";
};

using bus_actor = caf::stateful_actor<bus_state>;

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
           std::chrono::steady_clock::now().time_since_epoch())
    .count();
}

// A `publish_batch` request: answered (with the number of its items that
// matched no subscriber) when the last reference goes, i.e. once every
// subscriber it reached dropped the batches and holds that share it (or is
// gone, its mailbox with them). The answer goes from whichever thread
// drops the last reference straight to the publisher: a subscriber does
// not answer the bus, and the bus does not wake up to pass the answer on.
struct publish_ack {
  /// Where the answer goes, and the request it answers.
  caf::strong_actor_ptr publisher;
  caf::message_id id;
  /// The sender of the answer.
  caf::strong_actor_ptr bus;
  /// Items of the batch that matched no subscriber: nothing took them.
  uint64_t unrouted = 0;
  /// The worker of the thread that drops the last reference, when known
  /// (see detail::ack_from_here); else the scheduler's shared way in.
  caf::execution_unit* unit = nullptr;

  publish_ack() = default;
  publish_ack(const publish_ack&) = delete;
  publish_ack& operator=(const publish_ack&) = delete;

  ~publish_ack() {
    if (!publisher)
      return;
    try {
      // Without a unit: the scheduler's thread-safe way in, whichever
      // thread this runs on.
      publisher->enqueue(caf::make_mailbox_element(std::move(bus),
                                                   id.response_id(), {},
                                                   caf::make_message(unrouted)),
                         unit);
    } catch (...) { // NOLINT(bugprone-empty-catch): nobody to tell
    }
  }
};

// Sends the subscriber's outbox; with `ack`, the batch shares it (the
// publisher waits for it).
void send_outbox(bus_actor* self, bus_state::subscriber& s,
                 const std::shared_ptr<publish_ack>& ack = nullptr) {
  if (s.outbox.empty())
    return;
  if (s.outbox.size() == 1 && !ack) {
    auto& x = s.outbox.front();
    self->send(s.handle, deliver_atom::value, std::move(x.topic),
               std::move(x.msg));
    s.outbox.clear();
    return;
  }
  bus_batch b{std::move(s.outbox), now_ns(), ack};
  s.outbox = {};
  s.outbox.reserve(b.items.size());
  self->send(s.handle, deliver_batch_atom::value, std::move(b));
}

// The acknowledgement a batch for `s` carries: none for the publisher
// itself (a service that takes what it publishes would otherwise wait for
// itself).
std::shared_ptr<publish_ack> ack_for(const bus_state::subscriber& s,
                                     const std::shared_ptr<publish_ack>* ack) {
  if (ack == nullptr || !*ack)
    return nullptr;
  if ((*ack)->publisher && s.handle &&
      s.handle->ctrl() == (*ack)->publisher.get())
    return nullptr;
  return *ack;
}

bool matches(const bus_state::subscriber& s, const std::string& topic) {
  // Inline, not std::string::compare(pos, n, str): that one is out of line
  // and checks its position, per message and prefix.
  return std::any_of(s.prefixes.begin(), s.prefixes.end(), [&](auto& p) {
    return topic.size() >= p.size() && std::char_traits<char>::compare(
                                         topic.data(), p.data(), p.size()) == 0;
  });
}

// Hands one message to subscriber `s`: directly, or through its outbox.
// With `ack`, a full outbox goes out sharing it, and the rest leaves when
// the acknowledged publish is done (no flush needed).
void put(bus_actor* self, bus_state::subscriber& s, std::string topic,
         caf::message msg, const std::shared_ptr<publish_ack>* ack) {
  auto& st = self->state;
  ++st.delivered;
  if (!s.batches) {
    self->send(s.handle, deliver_atom::value, std::move(topic), std::move(msg));
    return;
  }
  s.outbox.push_back(bus_item{std::move(topic), std::move(msg)});
  if (s.outbox.size() >= max_batch) {
    send_outbox(self, s, ack_for(s, ack));
  } else if (ack == nullptr && !st.flush_pending) {
    // Goes behind everything already queued: batches fill while the bus
    // is busy and leave at once when it is not.
    st.flush_pending = true;
    self->send(self, bus_flush_atom::value);
  }
}

// The last subscriber a message matches gets `topic` and `msg` moved, the
// others copies.
void publish(bus_actor* self, std::string& topic, caf::message& msg,
             const std::shared_ptr<publish_ack>* ack = nullptr) {
  auto& st = self->state;
  ++st.published;
  auto& hits = st.hits;
  hits.clear();
  for (size_t i = 0; i < st.subs.size(); ++i)
    if (matches(st.subs[i], topic))
      hits.push_back(i);
  if (hits.empty()) {
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
void publish_acknowledged(bus_actor* self, bus_batch& b) {
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
      send_outbox(self, s, ack_for(s, &ack));
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

void subscribe(bus_actor* self, std::string& prefix, caf::actor& sub,
               bool batches) {
  auto& st = self->state;
  if (!sub)
    return;
  auto* i = find_sub(st, sub);
  if (i == nullptr) {
    self->monitor(sub);
    st.index[sub.id()] = st.subs.size();
    st.subs.push_back(bus_state::subscriber{std::move(sub), {}, batches, {}});
    i = &st.subs.back();
  } else if (i->batches != batches) {
    send_outbox(self, *i); // keep the order across the switch
    i->batches = batches;
  }
  if (std::find(i->prefixes.begin(), i->prefixes.end(), prefix) ==
      i->prefixes.end())
    i->prefixes.push_back(std::move(prefix));
}

caf::behavior bus_fun(bus_actor* self) {
  self->set_down_handler(
    [self](caf::down_msg& dm) { drop_sub(self->state, dm.source.id()); });
  return {
    [self](subscribe_atom, std::string& prefix, caf::actor& sub) {
      subscribe(self, prefix, sub, false);
    },
    [self](subscribe_atom, std::string& prefix, caf::actor& sub, bool batches) {
      subscribe(self, prefix, sub, batches);
    },
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
      if (self->current_message_id().is_request()) {
        publish_acknowledged(self, b);
        return;
      }
      for (auto& x : b.items)
        publish(self, x.topic, x.msg);
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
      return caf::make_message(n, st.published, st.delivered);
    },
  };
}

} // namespace

namespace detail {

void ack_from_here(const std::shared_ptr<void>& ack,
                   caf::execution_unit* unit) {
  // Only this thread holds `ack`: nobody can copy it meanwhile, and the
  // last reference goes here.
  if (ack && ack.use_count() == 1)
    static_cast<publish_ack*>(ack.get())->unit = unit;
}

} // namespace detail

caf::actor spawn_topic_bus(caf::actor_system& sys) {
  return sys.spawn(bus_fun);
}

} // namespace troupe
