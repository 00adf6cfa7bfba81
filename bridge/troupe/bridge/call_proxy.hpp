#pragma once

#include <chrono>
#include <string>

#include "troupe/actors/service.hpp"

namespace troupe::bridge {

/// The `call_proxy` service type: answers each `request` (from a rep or
/// router endpoint) under a topic prefix by calling a peer through a req or
/// dealer endpoint (see call.hpp) and replying with the peer's answer, or
/// with the call's error. A ZMQ peer can so reach another one through a
/// troupe app, and the app shows how a service makes calls.
///
/// Settings: `topic` (request topic prefix), `bridge` and `endpoint` (where
/// the calls go), `timeout` (default 5s).
class call_proxy : public service {
public:
  const config::schema* settings_schema() const override;
  hook_result on_configure(const settings& cfg) override;
  hook_result on_start() override;

  /// The schema of the type's settings.
  static const config::schema& type_schema();

private:
  std::string topic_;
  std::string target_;
  std::chrono::nanoseconds timeout_{std::chrono::seconds{5}};
};

} // namespace troupe::bridge
