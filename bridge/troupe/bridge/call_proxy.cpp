#include "troupe/bridge/call_proxy.hpp"

#include <nlohmann/json.hpp>

#include "troupe/bridge/call.hpp"
#include "troupe/bridge/request.hpp"
#include "troupe/config/schema.hpp"

namespace troupe::bridge {

const config::schema& call_proxy::type_schema() {
  static const config::schema s = [] {
    config::schema out{"Answers requests under a topic by calling a ZMQ peer "
                       "through a bridge's req or dealer endpoint"};
    out
      .string("topic", "Request topic prefix answered (from a rep or router "
                       "endpoint)")
      .require();
    out.string("bridge", "Name of the bridge service that makes the calls")
      .require();
    out.string("endpoint", "Its req or dealer endpoint").require();
    out.duration("timeout", "How long a call may take at most")
      .fallback(config::duration{std::chrono::seconds{5}})
      .at_least(0.000001);
    return out;
  }();
  return s;
}

const config::schema* call_proxy::settings_schema() const {
  return &type_schema();
}

hook_result call_proxy::on_configure(const settings& cfg) {
  topic_ = *cfg.get<std::string>("topic");
  target_ = call_topic(*cfg.get<std::string>("bridge"),
                       *cfg.get<std::string>("endpoint"));
  timeout_ = *cfg.get<config::duration>("timeout");
  return hook_result::success();
}

hook_result call_proxy::on_start() {
  subscribe<request>(topic_, [this](const std::string&, const request& r) {
    auto message = r.message;
    message.via.clear();
    publish(target_, call(self(), std::move(message), timeout_,
                          [r](caf::expected<envelope> answer) {
                            if (!answer) {
                              reply_error(r, describe(answer.error()));
                              return;
                            }
                            // A troupe peer's error reply stays an error.
                            if (answer->topic == "troupe.error") {
                              auto j = nlohmann::json::parse(answer->payload,
                                                             nullptr, false);
                              auto m =
                                j.is_object() ? j.value("message", "") : "";
                              reply_error(r, m.empty() ? answer->payload : m);
                              return;
                            }
                            reply(r, std::move(answer->payload));
                          }));
  });
  log().info("answering '{}' through '{}'", topic_, target_);
  return hook_result::success();
}

} // namespace troupe::bridge
