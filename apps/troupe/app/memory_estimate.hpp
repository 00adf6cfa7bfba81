#pragma once

// The worst-case memory an app's messages can take, from its settings: the
// formula of docs/apps.md ("Memory ceiling"), for `troupe check`.

#include <cstdint>
#include <string>
#include <vector>

#include "troupe/config/app_config.hpp"

namespace troupe::app {

/// One bounded place where messages can wait.
struct memory_part {
  /// "SERVICE" or "SERVICE/ENDPOINT".
  std::string where;
  /// What the bound is made of, e.g. "rcvhwm 10000 x 64 KiB".
  std::string formula;
  /// Bytes for one connected peer.
  uint64_t bytes = 0;
  /// Bytes each further connected peer adds (ZMQ keeps one pipe per peer).
  uint64_t per_peer = 0;
};

/// The app's ceiling: every part, their sum for one peer per endpoint, and
/// the services that have no bound (`publish_window = 0`, not a bridge).
struct memory_estimate {
  std::vector<memory_part> parts;
  uint64_t total = 0;
  uint64_t per_peer = 0;
  std::vector<std::string> unbounded;
};

/// Estimates the ceiling of `cfg` for messages that services publish of
/// `message_bytes` each (inbound endpoints count their `max_message_bytes`:
/// the peer chooses the size).
memory_estimate estimate_memory(const config::app_config& cfg,
                                uint64_t message_bytes);

/// "1.5 GiB", "64 KiB", "200 B".
std::string format_bytes(uint64_t n);

/// The estimate as a few lines of text for `troupe check`.
std::string render_memory_estimate(const memory_estimate& m,
                                   uint64_t message_bytes);

} // namespace troupe::app
