#pragma once

#include <optional>
#include <string>

#include <caf/allowed_unsafe_message_type.hpp>
#include <nlohmann/json.hpp>

namespace troupe::bridge {

/// One message as it travels on the wire: topic, payload bytes and the
/// optional meta frame. The bridge publishes every inbound message on the
/// local bus as an envelope; an envelope published locally goes out as it
/// is, without re-encoding.
struct envelope {
  std::string topic;
  /// JSON text (json codec) or bytes (raw codec).
  std::string payload;
  /// The meta frame's JSON text; empty when there was none.
  std::string meta;
  /// "BRIDGE/ENDPOINT" that received it; empty for local messages. A
  /// bridge never sends back out what it received itself.
  std::string via;
};

/// Decodes the JSON payload of `e` into `T` with nlohmann's `from_json`
/// (found by ADL). Returns nothing when the payload is not JSON or does not
/// fit `T`. Never throws.
///
/// ```
/// subscribe<bridge::envelope>("orders.", [this](auto&, const auto& e) {
///   if (auto o = bridge::decode<order>(e))
///     handle(*o);
/// });
/// ```
template <class T>
std::optional<T> decode(const envelope& e) noexcept {
  try {
    auto j = nlohmann::json::parse(e.payload, nullptr, false);
    if (j.is_discarded())
      return std::nullopt;
    return j.get<T>();
  } catch (...) {
    return std::nullopt;
  }
}

} // namespace troupe::bridge

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::bridge::envelope)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(nlohmann::json)
