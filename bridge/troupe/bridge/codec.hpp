#pragma once

#include <string>

#include <caf/fwd.hpp>

#include "troupe/bridge/endpoint_config.hpp"

namespace troupe::bridge {

/// Encodes a message published on the local bus as a wire payload.
///
/// - `envelope`: its payload as it is (no re-encoding);
/// - `nlohmann::json`: dumped (json) — publish `nlohmann::json(value)` to
///   send any type with a `to_json` overload;
/// - `std::string`: a JSON string (json) or the bytes (raw);
/// - integers, floating point, bool: JSON numbers and booleans.
///
/// Returns false for anything else (counted as unencodable by the bridge).
bool encode_payload(const caf::message& msg, codec_kind codec,
                    std::string& out);

} // namespace troupe::bridge
