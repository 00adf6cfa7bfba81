#include "troupe/bridge/call.hpp"

#include <caf/behavior.hpp>
#include <caf/scheduled_actor.hpp>
#include <caf/sec.hpp>

#include "troupe/actors/errc.hpp"
#include "troupe/config/duration.hpp"

namespace troupe::bridge {

namespace {

// The bridge answers every call by its own deadline; this one only catches
// a call that no bridge took (wrong bridge name, bridge not running).
constexpr auto grace = std::chrono::seconds{1};

} // namespace

std::string call_prefix(std::string_view bridge) {
  std::string out{"troupe.call."};
  out.append(bridge);
  out += '/';
  return out;
}

std::string call_topic(std::string_view bridge, std::string_view endpoint) {
  return call_prefix(bridge).append(endpoint);
}

call_request call(caf::scheduled_actor* self, envelope message,
                  std::chrono::nanoseconds timeout, call_handler on_result) {
  // A request in CAF's own terms (as `request` does it), except that the
  // message travels over the bus, which knows where the bridge is.
  auto id = self->new_request_id(caf::message_priority::normal);
  self->request_response_timeout(caf::duration{timeout + grace}, id);
  auto f = std::make_shared<call_handler>(std::move(on_result));
  auto topic = message.topic;
  self->add_multiplexed_response_handler(
    id.response_id(),
    caf::behavior{[f](envelope& reply) { (*f)(std::move(reply)); },
                  [f, timeout, topic](caf::error& err) {
                    if (err == caf::sec::request_timeout)
                      err =
                        make_error(errc::timeout,
                                   "no bridge answered the call on '" + topic +
                                     "' within " +
                                     config::format_duration(timeout + grace) +
                                     " (is the bridge running and the endpoint "
                                     "named right?)");
                    (*f)(std::move(err));
                  }});
  return call_request{std::move(message), self->ctrl(), id.response_id(),
                      timeout};
}

} // namespace troupe::bridge
