#define CAF_SUITE service_state

#include "troupe/actors/service_state.hpp"

#include <caf/test/unit_test.hpp>

using namespace troupe;

namespace {

constexpr service_state all_states[] = {
  service_state::initialized, service_state::configured,
  service_state::starting,    service_state::running,
  service_state::stopping,    service_state::stopped,
  service_state::failed,
};

} // namespace

CAF_TEST(state names round trip) {
  for (auto s : all_states) {
    auto parsed = parse_service_state(to_string(s));
    CAF_REQUIRE(parsed.has_value());
    CAF_CHECK_EQUAL(static_cast<int>(*parsed), static_cast<int>(s));
  }
  CAF_CHECK(!parse_service_state("runing").has_value());
  CAF_CHECK_EQUAL(to_string(service_state::running), "running");
}

CAF_TEST(the transition table matches the documented diagram) {
  using s = service_state;
  using a = lifecycle_action;
  struct row {
    a action;
    s from;
    bool allowed;
    s target;
  };
  // Every (action, state) pair, written out so that a change to the table
  // must change this test too.
  const row rows[] = {
    {a::configure, s::initialized, true, s::configured},
    {a::configure, s::configured, true, s::configured},
    {a::configure, s::starting, false, s::failed},
    {a::configure, s::running, false, s::failed},
    {a::configure, s::stopping, false, s::failed},
    {a::configure, s::stopped, true, s::configured},
    {a::configure, s::failed, false, s::failed},
    {a::start, s::initialized, true, s::running},
    {a::start, s::configured, true, s::running},
    {a::start, s::starting, false, s::failed},
    {a::start, s::running, false, s::failed},
    {a::start, s::stopping, false, s::failed},
    {a::start, s::stopped, true, s::running},
    {a::start, s::failed, true, s::running},
    {a::stop, s::initialized, false, s::failed},
    {a::stop, s::configured, false, s::failed},
    {a::stop, s::starting, false, s::failed},
    {a::stop, s::running, true, s::stopped},
    {a::stop, s::stopping, false, s::failed},
    {a::stop, s::stopped, false, s::failed},
    {a::stop, s::failed, true, s::stopped},
    {a::reconfigure, s::initialized, false, s::failed},
    {a::reconfigure, s::configured, true, s::configured},
    {a::reconfigure, s::starting, false, s::failed},
    {a::reconfigure, s::running, true, s::running},
    {a::reconfigure, s::stopping, false, s::failed},
    {a::reconfigure, s::stopped, true, s::configured},
    {a::reconfigure, s::failed, false, s::failed},
  };
  for (auto& r : rows) {
    auto t = check_transition(r.from, r.action, false, false);
    CAF_MESSAGE(to_string(r.action) << " from " << to_string(r.from));
    CAF_CHECK_EQUAL(t.allowed, r.allowed);
    if (r.allowed)
      CAF_CHECK_EQUAL(to_string(t.target), to_string(r.target));
    else
      CAF_CHECK(t.refusal == errc::invalid_transition);
  }
}

CAF_TEST(start without configuration is refused when required) {
  auto t = check_transition(service_state::initialized, lifecycle_action::start,
                            true, false);
  CAF_CHECK(!t.allowed);
  CAF_CHECK(t.refusal == errc::not_configured);
  t = check_transition(service_state::configured, lifecycle_action::start, true,
                       true);
  CAF_CHECK(t.allowed);
}
