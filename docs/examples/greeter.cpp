// A complete service type: settings, a domain request, a periodic task,
// health, and a main that hosts it. Built by the build; run by ctest.

#include <cstdio>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include "troupe/actors/ask.hpp"
#include "troupe/actors/errc.hpp"
#include "troupe/actors/init.hpp"
#include "troupe/actors/logging.hpp"
#include "troupe/actors/service_host.hpp"

// Domain messages are ordinary CAF messages; atoms name requests.
using greet_atom = caf::atom_constant<caf::atom("greet")>;

class greeter : public troupe::service {
public:
  // The lifecycle interface plus this type's own request.
  using interface = troupe::service_actor::extend<
    caf::replies_to<greet_atom, std::string>::with<std::string>>;

  // One handler per extra signature; dispatched only while running.
  auto handlers() {
    return std::make_tuple([this](greet_atom, const std::string& who) {
      ++greeted_;
      return greeting_ + ", " + who + "!";
    });
  }

  troupe::hook_result on_configure(const troupe::settings& cfg) override {
    greeting_ = cfg.get_or("greeting", "Hello");
    if (greeting_.empty())
      return troupe::hook_result::refuse("greeting must not be empty");
    return troupe::hook_result::success();
  }

  troupe::hook_result on_start() override {
    // Tasks belong to the run: cancelled on stop, registered anew on start.
    every(std::chrono::seconds{10},
          [this] { log().info("greeted {} so far", greeted_); });
    return troupe::hook_result::success();
  }

  bool requires_configuration() const override { return true; }

private:
  std::string greeting_;
  int greeted_ = 0;
};

// Prints the answer to one request, or its error.
std::string text(troupe::service_state x) {
  return "state " + to_string(x);
}
std::string text(const std::string& x) {
  return x;
}

template <class T>
void show(const caf::expected<T>& answer) {
  if (answer)
    std::printf("-> %s\n", text(*answer).c_str());
  else
    std::printf("-> error %s\n", troupe::describe(answer.error()).c_str());
}

int main() {
  troupe::init_logging(); // service logs go to stderr
  caf::actor_system_config cfg;
  troupe::init_actor_system_config(cfg);
  caf::actor_system sys{cfg};
  auto svc = troupe::spawn_service<greeter>(sys, {"greeter", "greeter"});
  using state = troupe::service_state;
  caf::timespan limit = std::chrono::seconds{1};
  // troupe::ask (troupe/actors/ask.hpp): a request from outside an actor
  show(troupe::ask<std::string>(sys, svc, limit, greet_atom::value,
                                std::string{"world"}));
  show(troupe::ask<state>(sys, svc, limit, troupe::start_atom::value));
  show(troupe::ask<state>(
    sys, svc, limit, troupe::configure_atom::value,
    troupe::settings{troupe::config::table{{"greeting", "Hi"}}}));
  show(troupe::ask<state>(sys, svc, limit, troupe::start_atom::value));
  show(troupe::ask<std::string>(sys, svc, limit, greet_atom::value,
                                std::string{"world"}));
  show(troupe::ask<state>(sys, svc, limit, troupe::stop_atom::value,
                          std::string{"done"}, limit));
  return 0;
}
