#include "troupe/bridge/manual_receiver.hpp"

#include "troupe/bridge/detail/bridge_runtime.hpp"

namespace troupe::bridge {

manual_receiver::manual_receiver() = default;

manual_receiver::~manual_receiver() = default;

bool manual_receiver::step(std::chrono::milliseconds max_wait) {
  std::lock_guard<std::mutex> guard{mtx_};
  return loop_ != nullptr && loop_->step(max_wait);
}

void manual_receiver::attach(std::unique_ptr<detail::receiver_loop> loop) {
  std::lock_guard<std::mutex> guard{mtx_};
  loop_ = std::move(loop);
}

void manual_receiver::detach() {
  std::lock_guard<std::mutex> guard{mtx_};
  if (loop_ != nullptr)
    loop_->finish();
  loop_.reset();
}

} // namespace troupe::bridge
