#include "troupe/app/app_metrics.hpp"

#include <chrono>

#include <nlohmann/json.hpp>

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

void write_bridge_metrics(exposition_writer& w, const std::string& service,
                          const std::string& stats_json) {
  auto j = nlohmann::json::parse(stats_json, nullptr, false);
  if (!j.is_object())
    return;
  struct counter_field {
    const char* key;
    const char* metric;
    const char* help;
    metric_type type;
  };
  static const counter_field fields[] = {
    {"received", "troupe_bridge_received_total",
     "Messages received from ZMQ on an endpoint", metric_type::counter},
    {"sent", "troupe_bridge_sent_total", "Messages sent to ZMQ on an endpoint",
     metric_type::counter},
    {"queued", "troupe_bridge_queued",
     "Messages waiting in the bridge for ZMQ to take them (pub, push)",
     metric_type::gauge},
    {"queued_bytes", "troupe_bridge_queued_bytes",
     "Bytes (topic + payload + meta) waiting in the bridge for ZMQ",
     metric_type::gauge},
    {"max_queued", "troupe_bridge_max_queued",
     "The bound of troupe_bridge_queued (max_queued)", metric_type::gauge},
    {"max_queued_bytes", "troupe_bridge_max_queued_bytes",
     "The bound of troupe_bridge_queued_bytes (max_queued_bytes)",
     metric_type::gauge},
    {"unencodable", "troupe_bridge_unencodable_total",
     "Local messages that could not be encoded for the wire",
     metric_type::counter},
    {"gaps", "troupe_bridge_sequence_gaps_total",
     "Messages missing by sequence number (meta frames)", metric_type::counter},
    {"timeouts", "troupe_bridge_request_timeouts_total",
     "Requests that timed out in a service", metric_type::counter},
    {"error_replies", "troupe_bridge_error_replies_total",
     "Requests answered with an error", metric_type::counter},
    {"in_flight", "troupe_bridge_in_flight",
     "Inbound messages not yet handed to the bus (sub, pull, rep, router) "
     "or calls awaiting a reply (req, dealer)",
     metric_type::gauge},
    {"window", "troupe_bridge_window",
     "Inbound credit window: at most this many messages in flight",
     metric_type::gauge},
    {"calls", "troupe_bridge_calls_total",
     "Calls from local services to a req or dealer endpoint",
     metric_type::counter},
    {"replies", "troupe_bridge_call_replies_total",
     "Calls answered by the peer", metric_type::counter},
    {"failures", "troupe_bridge_call_failures_total",
     "Calls that could not be sent", metric_type::counter},
    {"peer_disconnects", "troupe_bridge_peer_disconnects_total",
     "Peer connections ZeroMQ closed on a receiving endpoint: a peer that "
     "left, or one that sent a frame over max_message_bytes",
     metric_type::counter},
  };
  auto eps = j.value("endpoints", nlohmann::json::array());
  auto labels = [&service](const nlohmann::json& ep) {
    return metric_labels{{"service", service},
                         {"endpoint", ep.value("name", "")},
                         {"socket", ep.value("socket", "")}};
  };
  for (auto& f : fields) {
    w.family(f.metric, f.help, f.type);
    for (auto& ep : eps)
      if (ep.contains(f.key) && ep[f.key].is_number())
        w.sample(labels(ep), ep[f.key].get<double>());
  }
  auto calls_only = [](const nlohmann::json& ep) {
    auto s = ep.value("socket", "");
    return s == "req" || s == "dealer";
  };
  auto by_reason = [&](const char* key, const char* metric, const char* help,
                       bool only_calls = false) {
    w.family(metric, help, metric_type::counter);
    for (auto& ep : eps) {
      if (only_calls && !calls_only(ep))
        continue;
      auto counts = ep.value(key, nlohmann::json::object());
      for (auto& [reason, n] : counts.items()) {
        auto l = labels(ep);
        l.emplace_back("reason", reason);
        if (n.is_number())
          w.sample(l, n.get<double>());
      }
    }
  };
  by_reason("malformed", "troupe_bridge_malformed_total",
            "Malformed input received, by reason");
  by_reason("dropped_by_reason", "troupe_bridge_dropped_total",
            "Messages an endpoint dropped, by reason; outbound: drop_oldest, "
            "drop_newest, queue_full, slow_subscriber (pub: a stalled "
            "subscriber missed it, the others got it), stopped; calls: "
            "late_reply, queue_full, expired, stopped");
  by_reason("dropped_by_reason", "troupe_bridge_call_dropped_total",
            "Calls or replies dropped, by reason (late_reply, queue_full, "
            "expired, stopped)",
            true);
  w.family("troupe_bridge_peer_alive",
           "1 while a peer's heartbeats arrive in time", metric_type::gauge);
  for (auto& p : j.value("peers", nlohmann::json::array()))
    w.sample({{"service", service}, {"peer", p.value("src", "")}},
             p.value("alive", false) ? 1 : 0);
}

} // namespace troupe::app
