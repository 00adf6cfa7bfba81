// A test plugin: service type `hang` keeps one unit of work in flight
// forever, so it never finishes stopping on its own. process.shutdown runs
// it to prove that `troupe run` exits 3 naming it once app.shutdown_timeout
// has passed. Service type `slow_start` takes 300 ms to start: a chain of
// them keeps an app starting long enough for process.scale to stop it
// while it starts.
#include <chrono>
#include <thread>

#include <troupe/actors/register_service.hpp>

namespace {

class hang : public troupe::service {
public:
  troupe::hook_result on_start() override {
    forever_ = track(); // released only when the actor is destroyed
    return troupe::hook_result::success();
  }

private:
  troupe::work_token forever_;
};

class slow_start : public troupe::service {
public:
  troupe::hook_result on_start() override {
    std::this_thread::sleep_for(std::chrono::milliseconds{300});
    return troupe::hook_result::success();
  }
};

} // namespace

TROUPE_PLUGIN(reg) {
  reg.add(troupe::service_type_of<hang>("hang", "Never stops in time (test)"));
  reg.add(troupe::service_type_of<slow_start>("slow_start",
                                              "Takes 300 ms to start (test)"));
}
