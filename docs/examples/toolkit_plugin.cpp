// docs/examples/toolkit_plugin.cpp -- the toolkit example as service type
// `lookup` in a plugin, so that an app runs it (docs/examples/toolkit.toml):
// each instance owns a private flaky backend and looks a key up every
// `interval`, so its counter, histogram, breaker and health checks move in
// `/metrics` and `/health` without any client.
#define main toolkit_example_main // reuse the service types, not the main
#include "toolkit_service.cpp"    // NOLINT(bugprone-suspicious-include)
#undef main

#include <troupe/actors/register_service.hpp>

namespace {

class app_lookup : public lookup {
public:
  app_lookup() : lookup(backend::interface{}) {}

  static troupe::config::schema type_schema() {
    troupe::config::schema s{
      "Looks keys up in a flaky backend with retry and a circuit breaker "
      "(toolkit example plugin)"};
    s.integer("backend_fail_every",
              "Every n-th backend call fails (0: never, 1: always)")
      .fallback(3)
      .at_least(0);
    s.duration("interval", "How often a key is looked up")
      .fallback(troupe::config::duration{std::chrono::milliseconds{100}});
    return s;
  }

  const troupe::config::schema* settings_schema() const override {
    static const auto s = type_schema();
    return &s;
  }

  troupe::hook_result on_configure(const troupe::settings& cfg) override {
    fail_every_ = *cfg.get<int64_t>("backend_fail_every");
    interval_ = *cfg.get<troupe::config::duration>("interval");
    return troupe::hook_result::success();
  }

  troupe::hook_result on_start() override {
    // The backend lives exactly as long as this service runs.
    db_ = troupe::spawn_service<backend>(self()->system(),
                                         {name() + ".backend", "backend"});
    backend_call(troupe::configure_atom::value, backend_settings());
    backend_call(troupe::start_atom::value);
    every(interval_, [this] {
      find("key" + std::to_string(++lookups_ % 10),
           [](const caf::expected<std::string>&) {});
    });
    return lookup::on_start();
  }

  troupe::hook_result on_stop() override {
    caf::anon_send_exit(db_, caf::exit_reason::user_shutdown);
    db_ = backend::interface {};
    return troupe::hook_result::success();
  }

  troupe::hook_result on_reconfigure(const troupe::settings& cfg) override {
    on_configure(cfg);
    backend_call(troupe::reconfigure_atom::value, backend_settings());
    return troupe::hook_result::success();
  }

private:
  troupe::settings backend_settings() const {
    return troupe::settings{troupe::config::table{{"fail_every", fail_every_}}};
  }

  // One lifecycle request to the backend, in order; a refusal is fatal.
  template <class... Ts>
  void backend_call(Ts... xs) {
    troupe::retry_policy once;
    once.max_attempts = 1;
    retry_request<troupe::service_state>(
      once, db_, std::chrono::seconds{5},
      [this](caf::expected<troupe::service_state> r) {
        if (!r)
          record_error("backend: " + troupe::describe(r.error()), true);
      },
      xs...);
  }

  int64_t fail_every_ = 0;
  std::chrono::nanoseconds interval_{};
  uint64_t lookups_ = 0;
};

} // namespace

TROUPE_PLUGIN(reg) {
  reg.add(troupe::service_type_of<app_lookup>("lookup"));
}
