#pragma once

#include <cstdint>
#include <functional>
#include <memory>

namespace troupe {

namespace detail {

/// Counts a service's work in flight; shared with its tokens.
struct in_flight_counter {
  uint64_t count = 0;
  /// Called when the count drops to zero (the host finishes a pending stop).
  std::function<void()> on_idle;
};

/// One unit of tracked work; finishing it releases the count.
class work_ticket {
public:
  explicit work_ticket(std::weak_ptr<in_flight_counter> counter)
    : counter_(std::move(counter)) {
    if (auto c = counter_.lock())
      ++c->count;
  }

  work_ticket(const work_ticket&) = delete;
  work_ticket& operator=(const work_ticket&) = delete;

  ~work_ticket() {
    if (auto c = counter_.lock())
      if (--c->count == 0 && c->on_idle)
        c->on_idle();
  }

private:
  std::weak_ptr<in_flight_counter> counter_;
};

} // namespace detail

/// Marks one unit of work in flight (an outstanding request, a pending
/// write). A stop waits, up to its deadline, until every token is gone.
/// Copies share one unit; the unit ends when the last copy is destroyed or
/// `done()` is called on every copy. Tokens belong to their service's actor:
/// create, copy and drop them only inside its handlers.
///
/// ```
/// auto token = track();
/// self()->request(db, 1s, query).then([this, token](result r) { ... });
/// ```
class work_token {
public:
  work_token() = default;

  explicit work_token(std::shared_ptr<detail::work_ticket> ticket)
    : ticket_(std::move(ticket)) {}

  /// Ends this copy's share of the unit of work.
  void done() noexcept { ticket_.reset(); }

  /// Returns whether this copy still holds the unit of work.
  explicit operator bool() const noexcept { return ticket_ != nullptr; }

private:
  std::shared_ptr<detail::work_ticket> ticket_;
};

} // namespace troupe
