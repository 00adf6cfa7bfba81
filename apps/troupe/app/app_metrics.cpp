#include "troupe/app/app_metrics.hpp"

#include <chrono>
#include <map>
#include <string>

#include "troupe/actors/metrics.hpp"

namespace troupe::app {

namespace {

constexpr service_state all_states[] = {
  service_state::initialized, service_state::configured,
  service_state::starting,    service_state::running,
  service_state::stopping,    service_state::stopped,
  service_state::failed,
};

template <class F>
void per_service(exposition_writer& w, const std::vector<service_status>& sts,
                 const char* name, const char* help, metric_type type, F get) {
  w.family(name, help, type);
  for (auto& st : sts)
    w.sample({{"service", st.name}}, get(st));
}

} // namespace

void write_service_metrics(exposition_writer& w,
                           const std::vector<service_status>& sts) {
  w.family("troupe_service_state",
           "Lifecycle state of a service: 1 for the current state",
           metric_type::gauge);
  for (auto& st : sts)
    for (auto s : all_states)
      w.sample({{"service", st.name}, {"state", std::string{to_string(s)}}},
               st.state == s ? 1 : 0);
  using status = service_status;
  auto gauge = metric_type::gauge;
  auto counter = metric_type::counter;
  per_service(w, sts, "troupe_service_up", "1 while the service is running",
              gauge, [](const status& s) {
                return s.state == service_state::running ? 1.0 : 0.0;
              });
  per_service(w, sts, "troupe_service_healthy",
              "1 while the service's health is healthy", gauge,
              [](const status& s) {
                return s.health == health_status::healthy ? 1.0 : 0.0;
              });
  per_service(w, sts, "troupe_service_messages_in_total",
              "Domain messages and bus deliveries handled", counter,
              [](const status& s) { return double(s.messages_in); });
  per_service(w, sts, "troupe_service_messages_out_total",
              "Messages published or sent", counter,
              [](const status& s) { return double(s.messages_out); });
  per_service(w, sts, "troupe_service_messages_dropped_total",
              "Messages that arrived while not running or were not handled",
              counter,
              [](const status& s) { return double(s.messages_dropped); });
  per_service(w, sts, "troupe_service_errors_total",
              "Errors recorded since the last reset", counter,
              [](const status& s) { return double(s.errors); });
  per_service(w, sts, "troupe_service_restarts_total",
              "Restarts (by the supervisor or the control plane)", counter,
              [](const status& s) { return double(s.restarts); });
  per_service(w, sts, "troupe_service_in_flight", "Tracked work in flight",
              gauge, [](const status& s) { return double(s.in_flight); });
  per_service(w, sts, "troupe_service_publish_unacked",
              "Messages published and not yet taken by every subscriber", gauge,
              [](const status& s) { return double(s.publish_unacked); });
  per_service(w, sts, "troupe_service_held_back",
              "1 while the service is held back by its publish window", gauge,
              [](const status& s) { return s.held_back ? 1.0 : 0.0; });
  per_service(w, sts, "troupe_service_held_back_total",
              "Times the service was held back by its publish window", counter,
              [](const status& s) { return double(s.held_back_times); });
  per_service(w, sts, "troupe_service_mailbox_size",
              "Messages in the service's mailbox", gauge,
              [](const status& s) { return double(s.mailbox_size); });
  per_service(w, sts, "troupe_service_held_messages",
              "Bus messages waiting while the service is held back", gauge,
              [](const status& s) { return double(s.held_messages); });
  per_service(w, sts, "troupe_service_uptime_seconds",
              "Time in running since the last start", gauge,
              [](const status& s) {
                return std::chrono::duration<double>(s.uptime).count();
              });
}

void write_type_metrics(exposition_writer& w,
                        const std::vector<service_status>& sts) {
  struct sums {
    std::map<service_state, double> states;
    double up = 0;
    double healthy = 0;
    double in = 0;
    double out = 0;
    double dropped = 0;
    double errors = 0;
    double restarts = 0;
    double in_flight = 0;
    double unacked = 0;
    double held_back = 0;
    double mailbox = 0;
  };
  std::map<std::string, sums> types;
  for (auto& st : sts) {
    auto& t = types[st.type];
    t.states[st.state] += 1;
    t.up += st.state == service_state::running ? 1 : 0;
    t.healthy += st.health == health_status::healthy ? 1 : 0;
    t.in += double(st.messages_in);
    t.out += double(st.messages_out);
    t.dropped += double(st.messages_dropped);
    t.errors += double(st.errors);
    t.restarts += double(st.restarts);
    t.in_flight += double(st.in_flight);
    t.unacked += double(st.publish_unacked);
    t.held_back += st.held_back ? 1 : 0;
    t.mailbox += double(st.mailbox_size);
  }
  w.family("troupe_type_services",
           "Services of the type in each lifecycle state", metric_type::gauge);
  for (auto& [type, t] : types)
    for (auto s : all_states) {
      auto i = t.states.find(s);
      w.sample({{"type", type}, {"state", std::string{to_string(s)}}},
               i == t.states.end() ? 0 : i->second);
    }
  auto each = [&](const char* name, const char* help, metric_type kind,
                  double sums::*field) {
    w.family(name, help, kind);
    for (auto& [type, t] : types)
      w.sample({{"type", type}}, t.*field);
  };
  auto gauge = metric_type::gauge;
  auto counter = metric_type::counter;
  each("troupe_type_up", "Services of the type that are running", gauge,
       &sums::up);
  each("troupe_type_healthy", "Services of the type whose health is healthy",
       gauge, &sums::healthy);
  each("troupe_type_messages_in_total",
       "Domain messages and bus deliveries handled, summed over the type",
       counter, &sums::in);
  each("troupe_type_messages_out_total",
       "Messages published or sent, summed over the type", counter, &sums::out);
  each("troupe_type_messages_dropped_total",
       "Messages dropped by the type's services", counter, &sums::dropped);
  each("troupe_type_errors_total", "Errors recorded, summed over the type",
       counter, &sums::errors);
  each("troupe_type_restarts_total", "Restarts, summed over the type", counter,
       &sums::restarts);
  each("troupe_type_in_flight", "Tracked work in flight, summed over the type",
       gauge, &sums::in_flight);
  each("troupe_type_publish_unacked",
       "Published messages not yet taken by every subscriber, summed", gauge,
       &sums::unacked);
  each("troupe_type_held_back",
       "Services of the type held back by their publish window", gauge,
       &sums::held_back);
  each("troupe_type_mailbox_size",
       "Messages in the mailboxes of the type's services", gauge,
       &sums::mailbox);
}

void write_process_metrics(exposition_writer& w) {
  w.family("process_resident_memory_bytes",
           "Resident memory size of the process in bytes", metric_type::gauge);
  w.sample({}, static_cast<double>(process_rss_bytes()));
  w.family("troupe_process_heap_bytes",
           "Heap bytes the process holds from malloc (allocated chunks and "
           "mmapped blocks; freed memory malloc keeps is not counted)",
           metric_type::gauge);
  w.sample({}, static_cast<double>(process_heap_bytes()));
}

} // namespace troupe::app
