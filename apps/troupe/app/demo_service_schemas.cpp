#include "troupe/app/demo_service_schemas.hpp"

namespace troupe::app {

using namespace std::chrono_literals;

config::schema ticker_schema() {
  config::schema s{"Publishes an increasing sequence number on a topic"};
  s.duration("period", "Time between ticks")
    .fallback(config::duration{250ms})
    .at_least(0.000001);
  s.string("topic", "Topic the ticks are published on").fallback("demo.tick");
  return s;
}

config::schema counter_schema() {
  config::schema s{"Counts ticks under a topic prefix; degraded when they "
                   "stop"};
  s.string("topic", "Topic prefix to count").fallback("demo.tick");
  s.duration("stale_after", "Health turns degraded after this long without "
                            "a tick")
    .fallback(config::duration{2s})
    .at_least(0.001);
  return s;
}

config::schema echo_schema() {
  config::schema s{"Answers each bridge message on a topic by publishing it "
                   "again under another"};
  s.string("request_topic", "Topic answered (exact match)")
    .fallback("echo.request");
  s.string("reply_topic", "Topic the same envelope is published on")
    .fallback("echo.reply");
  return s;
}

} // namespace troupe::app
