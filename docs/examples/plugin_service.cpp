// docs/examples/plugin_service.cpp -- a service type in a shared library,
// loaded by `[app] plugins = ["./libtroupe-example-plugin.so"]`.
#include <troupe/actors/register_service.hpp>

#include <string>

namespace {

// Publishes its `text` in upper case on `topic` once per `period`.
class shouter : public troupe::service {
public:
  static troupe::config::schema type_schema() {
    troupe::config::schema s{"Shouts a text on a topic (plugin example)"};
    s.string("text", "What to shout").fallback("hello");
    s.string("topic", "Where to shout it").fallback("shout");
    s.duration("period", "How often")
      .fallback(troupe::config::duration{std::chrono::seconds{1}});
    return s;
  }

  const troupe::config::schema* settings_schema() const override {
    static const auto s = type_schema();
    return &s;
  }

  troupe::hook_result on_configure(const troupe::settings& cfg) override {
    text_ = *cfg.get<std::string>("text");
    for (auto& c : text_)
      c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    topic_ = *cfg.get<std::string>("topic");
    period_ = *cfg.get<troupe::config::duration>("period");
    return troupe::hook_result::success();
  }

  troupe::hook_result on_start() override {
    every(period_, [this] { publish(topic_, text_); });
    log().info("shouting '{}' on '{}'", text_, topic_);
    return troupe::hook_result::success();
  }

private:
  std::string text_;
  std::string topic_;
  std::chrono::nanoseconds period_{};
};

} // namespace

// The entry point troupe looks for; it registers every type of the library.
TROUPE_PLUGIN(reg) {
  reg.add(troupe::service_type_of<shouter>("shouter", "Shouts (plugin)"));
}
