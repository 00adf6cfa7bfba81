// A supervision tree: a root supervisor over a nested one, children with
// different restart policies, a crash and the restart that follows. Built by
// the build; run by ctest, which compares its output with supervised.expected.

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>

#include "troupe/actors/errc.hpp"
#include "troupe/actors/init.hpp"
#include "troupe/actors/logging.hpp"
#include "troupe/actors/service_host.hpp"
#include "troupe/actors/supervisor.hpp"

using crash_atom = caf::atom_constant<caf::atom("crash")>;

// A service that fails when told to.
class worker : public troupe::service {
public:
  using interface = troupe::service_actor::extend<caf::reacts_to<crash_atom>>;

  auto handlers() {
    return std::make_tuple(
      [this](crash_atom) { record_error("told to crash", true); });
  }
};

// A child spec: how to spawn the child, and when to restart it.
troupe::child_spec worker_spec(std::string name,
                               troupe::restart_policy policy) {
  troupe::child_spec spec;
  spec.name = std::move(name);
  spec.type = "worker";
  spec.restart = policy;
  spec.stop_deadline = std::chrono::seconds{2};
  // Called for the first start and for every restart: a fresh instance.
  spec.factory = [](caf::actor_system& sys, troupe::service_options opts) {
    return caf::actor_cast<troupe::service_actor>(
      troupe::spawn_service<worker>(sys, std::move(opts)));
  };
  return spec;
}

// The tree: root (one_for_one) -> workers (rest_for_one) -> db, api, audit.
troupe::supervisor_actor build_tree(caf::actor_system& sys) {
  using troupe::restart_policy;
  troupe::supervisor_options workers;
  workers.name = "workers";
  workers.strategy = troupe::restart_strategy::rest_for_one;
  workers.max_restarts = 3; // more than 3 restarts within 10s: escalate
  workers.period = std::chrono::seconds{10};
  workers.backoff_min = std::chrono::milliseconds{10};
  workers.backoff_max = std::chrono::seconds{1};
  troupe::child_spec nested;
  nested.name = "workers";
  nested.type = "supervisor";
  nested.factory = troupe::supervisor_factory(
    workers, {worker_spec("db", restart_policy::permanent),
              worker_spec("api", restart_policy::transient),
              worker_spec("audit", restart_policy::temporary)});
  troupe::supervisor_options root;
  root.name = "root";
  return troupe::spawn_supervisor(sys, root, {nested});
}

std::vector<troupe::child_info> children(caf::scoped_actor& self,
                                         const troupe::supervisor_actor& sup) {
  std::vector<troupe::child_info> out;
  self->request(sup, std::chrono::seconds{5}, troupe::children_atom::value)
    .receive([&](std::vector<troupe::child_info>& xs) { out = std::move(xs); },
             [](const caf::error&) {});
  return out;
}

troupe::supervisor_actor workers_of(caf::scoped_actor& self,
                                    const troupe::supervisor_actor& root) {
  return caf::actor_cast<troupe::supervisor_actor>(
    children(self, root).at(0).handle);
}

void print(const std::vector<troupe::child_info>& xs) {
  for (auto& x : xs)
    std::printf("  %-5s %-8s restarts=%llu (%s)\n", x.name.c_str(),
                to_string(x.state).c_str(),
                static_cast<unsigned long long>(x.restarts),
                to_string(x.restart).c_str());
}

// Sends a lifecycle request and prints the answer.
template <class... Ts>
void ask(caf::scoped_actor& self, const troupe::supervisor_actor& sup,
         const char* what, Ts... xs) {
  self->request(sup, std::chrono::seconds{10}, xs...)
    .receive(
      [&](troupe::service_state st) {
        std::printf("%s: %s\n", what, to_string(st).c_str());
      },
      [&](const caf::error& err) {
        std::printf("%s: %s\n", what, troupe::describe(err).c_str());
      });
}

int main() {
  troupe::init_logging(); // supervisor and service logs go to stderr
  caf::actor_system_config cfg;
  troupe::init_actor_system_config(cfg);
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  auto root = build_tree(sys);
  ask(self, root, "start root", troupe::start_atom::value);
  auto workers = workers_of(self, root);
  print(children(self, workers));
  // db fails: rest_for_one restarts db and api (after it); audit is
  // temporary, so it is stopped with them and not started again.
  auto db = children(self, workers).at(0).handle;
  self->send(caf::actor_cast<caf::actor>(db), crash_atom::value);
  std::printf("crash db\n");
  for (int i = 0; i < 500; ++i) { // poll, at most 5 s
    auto xs = children(self, workers);
    if (xs.at(0).restarts == 1 && xs.at(1).restarts == 1 &&
        xs.at(0).state == troupe::service_state::running &&
        xs.at(1).state == troupe::service_state::running)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }
  print(children(self, workers));
  ask(self, root, "stop root", troupe::stop_atom::value, std::string{"done"},
      caf::timespan{std::chrono::seconds{5}});
  // Ends the tree: a stopped supervisor stays (it can be started again),
  // and CAF keeps an actor with a pending request time-out alive.
  self->send_exit(root, caf::exit_reason::user_shutdown);
  return 0;
}
