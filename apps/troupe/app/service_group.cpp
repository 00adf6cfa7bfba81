#include "troupe/app/service_group.hpp"

#include <caf/actor_system.hpp>

#include "troupe/actors/errc.hpp"

namespace troupe::app {

namespace {

caf::error named(const std::string& name, const char* step,
                 const caf::error& err) {
  return caf::error{err.code(), err.category(),
                    caf::make_message("service '" + name + "' failed to " +
                                      step + ": " + describe(err))};
}

} // namespace

service_group::service_group(caf::actor_system& sys,
                             std::chrono::milliseconds timeout)
  : self_(sys), timeout_(timeout) {}

void service_group::add(std::string name, service_actor handle, settings cfg) {
  members_.push_back(
    member{std::move(name), std::move(handle), std::move(cfg)});
}

caf::error service_group::start_all() {
  for (auto& m : members_) {
    caf::error err;
    self_->request(m.handle, timeout_, configure_atom::value, m.cfg)
      .receive([](service_state) {}, [&](caf::error& e) { err = e; });
    if (err)
      return named(m.name, "configure", err);
    self_->request(m.handle, timeout_, start_atom::value)
      .receive([](service_state) {}, [&](caf::error& e) { err = e; });
    if (err)
      return named(m.name, "start", err);
  }
  return {};
}

caf::error service_group::stop_all(std::chrono::nanoseconds deadline) {
  caf::error first;
  for (auto i = members_.rbegin(); i != members_.rend(); ++i) {
    caf::error err;
    service_state st = service_state::initialized;
    self_->request(i->handle, timeout_, status_atom::value)
      .receive([&](service_status& s) { st = s.state; },
               [&](caf::error& e) { err = e; });
    if (err || (st != service_state::running && st != service_state::failed))
      continue; // nothing to stop
    // Allow the deadline plus slack for on_stop itself.
    auto wait =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline) +
      timeout_;
    self_
      ->request(i->handle, wait, stop_atom::value, std::string{"shutdown"},
                caf::timespan{deadline})
      .receive([](service_state) {}, [&](caf::error& e) { err = e; });
    if (err && !first)
      first = named(i->name, "stop", err);
  }
  return first;
}

const service_group::member*
service_group::find(const std::string& name) const {
  for (auto& m : members_)
    if (m.name == name)
      return &m;
  return nullptr;
}

caf::error service_group::reconfigure(const std::string& name, settings cfg) {
  for (auto& m : members_) {
    if (m.name != name)
      continue;
    caf::error err;
    self_->request(m.handle, timeout_, reconfigure_atom::value, cfg)
      .receive([](service_state) {}, [&](caf::error& e) { err = e; });
    if (err)
      return named(name, "reconfigure", err);
    m.cfg = std::move(cfg);
    return {};
  }
  return make_error(errc::invalid_transition,
                    "no service named '" + name + "'");
}

std::vector<service_status> service_group::statuses() {
  std::vector<service_status> out;
  for (auto& m : members_) {
    self_->request(m.handle, timeout_, status_atom::value)
      .receive([&](service_status& s) { out.push_back(std::move(s)); },
               [&](caf::error& e) {
                 service_status s;
                 s.name = m.name;
                 s.state = service_state::failed;
                 s.last_error = describe(e);
                 out.push_back(std::move(s));
               });
  }
  return out;
}

} // namespace troupe::app
