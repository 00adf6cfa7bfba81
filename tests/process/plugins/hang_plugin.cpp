// A test plugin: service type `hang` keeps one unit of work in flight
// forever, so it never finishes stopping on its own. process.shutdown runs
// it to prove that `troupe run` exits 3 naming it once app.shutdown_timeout
// has passed.
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

} // namespace

TROUPE_PLUGIN(reg) {
  reg.add(troupe::service_type_of<hang>("hang", "Never stops in time (test)"));
}
