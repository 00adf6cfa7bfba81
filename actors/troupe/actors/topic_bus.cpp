#include "troupe/actors/topic_bus.hpp"

#include <algorithm>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "troupe/actors/atoms.hpp"

namespace troupe {

namespace {

struct bus_state {
  struct entry {
    std::string prefix;
    caf::actor subscriber;
  };
  std::vector<entry> entries;
  // Scratch list to deliver each message at most once per subscriber.
  std::vector<caf::actor_addr> seen;
  uint64_t published = 0;
  uint64_t delivered = 0;
  static inline const char* name = "troupe.topic_bus";
};

caf::behavior bus_fun(caf::stateful_actor<bus_state>* self) {
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& es = self->state.entries;
    es.erase(std::remove_if(es.begin(), es.end(),
                            [&](auto& e) { return e.subscriber == dm.source; }),
             es.end());
  });
  return {
    [self](subscribe_atom, std::string& prefix, caf::actor& sub) {
      auto& es = self->state.entries;
      bool known = std::any_of(es.begin(), es.end(),
                               [&](auto& e) { return e.subscriber == sub; });
      if (!known)
        self->monitor(sub);
      bool dup = std::any_of(es.begin(), es.end(), [&](auto& e) {
        return e.subscriber == sub && e.prefix == prefix;
      });
      if (!dup)
        es.push_back({std::move(prefix), std::move(sub)});
    },
    [self](unsubscribe_atom, const std::string& prefix, const caf::actor& sub) {
      auto& es = self->state.entries;
      es.erase(std::remove_if(es.begin(), es.end(),
                              [&](auto& e) {
                                return e.subscriber == sub &&
                                       e.prefix == prefix;
                              }),
               es.end());
    },
    [self](publish_atom, const std::string& topic, const caf::message& msg) {
      auto& st = self->state;
      ++st.published;
      st.seen.clear();
      for (auto& e : st.entries) {
        if (topic.compare(0, e.prefix.size(), e.prefix) != 0)
          continue;
        auto addr = e.subscriber.address();
        if (std::find(st.seen.begin(), st.seen.end(), addr) != st.seen.end())
          continue;
        st.seen.push_back(addr);
        self->send(e.subscriber, deliver_atom::value, topic, msg);
        ++st.delivered;
      }
    },
    [self](status_atom) {
      auto& st = self->state;
      return caf::make_message(static_cast<uint64_t>(st.entries.size()),
                               st.published, st.delivered);
    },
  };
}

} // namespace

caf::actor spawn_topic_bus(caf::actor_system& sys) {
  return sys.spawn(bus_fun);
}

} // namespace troupe
