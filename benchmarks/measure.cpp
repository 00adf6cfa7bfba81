#include "measure.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "troupe/actors/metrics.hpp"

namespace troupe::bench {

void countdown::arrive() {
  std::lock_guard<std::mutex> guard{mtx_};
  if (remaining_ > 0 && --remaining_ == 0)
    cv_.notify_all();
}

void countdown::abort(std::string why) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (failure_.empty())
    failure_ = why.empty() ? std::string{"unknown failure"} : std::move(why);
  cv_.notify_all();
}

void countdown::wait(const std::string& what, std::chrono::seconds timeout) {
  std::unique_lock<std::mutex> guard{mtx_};
  bool settled = cv_.wait_for(
    guard, timeout, [this] { return remaining_ == 0 || !failure_.empty(); });
  if (!failure_.empty())
    throw std::runtime_error(what + ": " + failure_);
  if (!settled)
    throw std::runtime_error(
      what + ": timed out after " + std::to_string(timeout.count()) +
      " s with " + std::to_string(remaining_) + " arrival(s) missing");
}

uint64_t live_heap_bytes() {
  return process_heap_bytes();
}

double percentile(std::vector<double>& xs, double p) {
  if (xs.empty())
    throw std::runtime_error("percentile of an empty sample");
  std::sort(xs.begin(), xs.end());
  auto rank =
    static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(xs.size())));
  return xs[std::clamp<size_t>(rank, 1, xs.size()) - 1];
}

void expect_count(const std::string& what, uint64_t want, uint64_t got) {
  if (got != want)
    throw std::runtime_error(what + ": expected " + std::to_string(want) +
                             ", got " + std::to_string(got));
}

} // namespace troupe::bench
