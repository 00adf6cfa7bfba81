// The service toolkit built on tasks: metrics, metadata, periodic health
// checks, retry with backoff, circuit breakers.

#include <exception>

#include <caf/behavior.hpp>
#include <caf/duration.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/scheduled_actor.hpp>

#include "troupe/actors/detail/host_core.hpp"
#include "troupe/actors/service.hpp"

namespace troupe {

namespace detail {

/// One run of `service::retry`.
struct retry_run {
  retry_policy policy;
  backoff delays;
  retry_operation op;
  retry_handler on_result;
  std::chrono::steady_clock::time_point started;
  uint32_t attempts = 0;
  bool finished = false;

  retry_run(retry_policy p, retry_operation f, retry_handler h)
    : policy(std::move(p)), delays(policy), op(std::move(f)),
      on_result(std::move(h)) {
    if (!policy.retryable)
      policy.retryable = default_retryable;
  }
};

} // namespace detail

namespace {

std::string text(std::chrono::nanoseconds d) {
  using namespace std::chrono;
  if (d % seconds{1} == nanoseconds::zero())
    return std::to_string(duration_cast<seconds>(d).count()) + "s";
  if (d % milliseconds{1} == nanoseconds::zero())
    return std::to_string(duration_cast<milliseconds>(d).count()) + "ms";
  return std::to_string(d.count()) + "ns";
}

// The state of one periodic health check, shared by its task, its timeout
// and the `done` callbacks it handed out.
struct probe_state {
  std::string name;
  uint64_t run = 0;     // the latest run; older answers are ignored
  bool pending = false; // the latest run has not answered yet
};

} // namespace

metric_registry& service::metrics() const {
  return host().metrics();
}

void service::set_metadata(std::string key, std::string value) {
  host().set_metadata(std::move(key), std::move(value));
}

// -- health checks ------------------------------------------------------------

task_id service::add_health_check(std::string name, health_probe fn) {
  return add_health_check(std::move(name), std::chrono::nanoseconds::zero(),
                          std::move(fn));
}

task_id service::add_health_check(std::string name,
                                  std::chrono::nanoseconds interval,
                                  health_probe fn) {
  return add_health_check_async(
    std::move(name), interval, std::chrono::nanoseconds::zero(),
    [fn = std::move(fn)](const health_done& done) { done(fn()); });
}

task_id service::add_health_check_async(std::string name,
                                        std::chrono::nanoseconds interval,
                                        std::chrono::nanoseconds timeout,
                                        async_health_probe fn) {
  if (interval <= std::chrono::nanoseconds::zero())
    interval = host().options().health_check_interval;
  auto st = std::make_shared<probe_state>();
  st->name = std::move(name);
  auto live = [this] {
    auto s = state();
    return s == service_state::running || s == service_state::starting;
  };
  auto run = [this, st, timeout, live, fn = std::move(fn)] {
    auto id = ++st->run;
    st->pending = true;
    health_done done = [this, st, id, live](health_result r) {
      if (st->run != id || !st->pending || !live())
        return; // superseded, timed out, answered twice, or stopped
      st->pending = false;
      set_health(st->name, r.status, std::move(r.message));
    };
    if (timeout > std::chrono::nanoseconds::zero())
      after(timeout, [this, st, id, timeout] {
        if (st->run != id || !st->pending)
          return;
        st->pending = false;
        set_health(st->name, health_status::unhealthy,
                   "check timed out after " + text(timeout));
      });
    try {
      fn(done);
    } catch (const std::exception& e) {
      done(health_result::unhealthy(std::string{"check threw: "} + e.what()));
    } catch (...) {
      done(health_result::unhealthy("check threw a non-standard exception"));
    }
  };
  run();
  return every(interval, std::move(run));
}

// -- retry --------------------------------------------------------------------

void service::retry(retry_policy policy, retry_operation op,
                    retry_handler on_result) {
  auto run = std::make_shared<detail::retry_run>(
    std::move(policy), std::move(op), std::move(on_result));
  run->started = now();
  retry_attempt(run);
}

void service::retry_attempt(const std::shared_ptr<detail::retry_run>& run) {
  auto attempt = ++run->attempts;
  auto finish = [this, run](const caf::error& err, bool retryable) {
    run->finished = true;
    if (run->on_result) {
      run->on_result(err);
    } else if (err) {
      auto what = "retry gave up after " + std::to_string(run->attempts) +
                  " attempt(s): " + describe(err);
      record_error(std::move(what), !retryable);
    }
  };
  retry_done done = [this, run, attempt, finish](const caf::error& err) {
    if (run->finished || run->attempts != attempt)
      return; // answered twice
    auto s = state();
    if (s != service_state::running && s != service_state::starting) {
      run->finished = true; // the service stopped: nobody waits any more
      return;
    }
    if (!err) {
      finish(err, true);
      return;
    }
    if (!run->policy.retryable(err)) {
      finish(err, false);
      return;
    }
    auto& p = run->policy;
    auto delay = run->delays.next();
    bool out_of_attempts = p.max_attempts != 0 && attempt >= p.max_attempts;
    bool past_deadline = p.deadline > std::chrono::nanoseconds::zero() &&
                         now() + delay > run->started + p.deadline;
    if (out_of_attempts || past_deadline) {
      finish(err, true);
      return;
    }
    log().debug("attempt {} failed ({}); retrying in {}", attempt,
                describe(err), text(delay));
    after(delay, [this, run] { retry_attempt(run); });
  };
  try {
    run->op(done);
  } catch (const std::exception& e) {
    done(make_error(errc::handler_failed,
                    std::string{"retry operation threw: "} + e.what()));
  } catch (...) {
    done(make_error(errc::handler_failed,
                    "retry operation threw a non-standard exception"));
  }
}

void service::retry_request_message(
  retry_policy policy, const caf::actor& dest, std::chrono::nanoseconds timeout,
  const caf::message& msg,
  std::function<void(caf::expected<caf::message>)> on_result) {
  auto reply = std::make_shared<caf::message>();
  auto op = [this, dest, timeout, msg, reply](const retry_done& done) {
    auto* s = self();
    if (!dest) {
      done(caf::make_error(caf::sec::invalid_argument, "no destination"));
      return;
    }
    // `request` is a member of the typed actor classes; the host only knows
    // the scheduled_actor base, which has everything a request needs.
    auto id = s->new_request_id(caf::message_priority::normal);
    dest->enqueue(caf::make_mailbox_element(s->ctrl(), id, {}, msg),
                  s->context());
    s->request_response_timeout(caf::duration{timeout}, id);
    s->add_multiplexed_response_handler(
      id.response_id(), caf::behavior{[done, reply](caf::error& err) {
        // A behavior of an event-based actor has no catch-all; a reply that
        // matches no handler comes back as `unexpected_response` carrying
        // the reply as its context. That is how any reply arrives here.
        if (err == caf::sec::unexpected_response && !err.context().empty()) {
          *reply = err.context();
          done(caf::error{});
        } else {
          done(err);
        }
      }});
  };
  retry(std::move(policy), std::move(op),
        [reply, f = std::move(on_result)](const caf::error& err) {
          if (err)
            f(err);
          else
            f(*reply);
        });
}

// -- circuit breakers ---------------------------------------------------------

circuit_breaker& service::breaker(const std::string& name,
                                  circuit_breaker_policy policy) {
  auto& slot = breakers_[name];
  if (slot)
    return *slot;
  slot = std::make_unique<circuit_breaker>(policy);
  auto check = "breaker:" + name;
  auto& state_gauge =
    metrics().gauge("circuit_breaker_state",
                    "Circuit breaker state: 0 closed, 1 half-open, 2 open",
                    {{"breaker", name}});
  auto& rejected = metrics().counter("circuit_breaker_rejected_total",
                                     "Calls rejected by a circuit breaker",
                                     {{"breaker", name}});
  auto* b = slot.get();
  b->on_change = [this, check, b, &state_gauge](breaker_state s) {
    state_gauge.set(static_cast<double>(s));
    switch (s) {
    case breaker_state::closed:
      set_health(check, health_status::healthy, "closed");
      break;
    case breaker_state::half_open:
      set_health(check, health_status::degraded, "half-open: trying again");
      break;
    case breaker_state::open:
      set_health(check, health_status::degraded,
                 "open: " + std::to_string(b->policy().failure_threshold) +
                   " failure(s) within " + text(b->policy().window) +
                   "; calls rejected for " + text(b->policy().cool_down));
      break;
    }
  };
  b->on_reject = [&rejected] { rejected.inc(); };
  state_gauge.set(0);
  set_health(check, health_status::healthy, "closed");
  return *b;
}

} // namespace troupe
