#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace troupe::bridge {

/// The topic of bridge heartbeats (`{"src", "ts", "bridge"}`), sent on pub
/// endpoints and always subscribed to on sub endpoints.
inline constexpr std::string_view heartbeat_topic = "troupe.heartbeat";

/// Why an inbound multipart message was rejected. Each reason is counted
/// per endpoint; none of them ever stops other traffic.
enum class frame_error : uint8_t {
  none,
  /// Zero frames.
  no_frames,
  /// One frame: a topic without payload.
  missing_payload,
  /// More than three frames.
  too_many_frames,
  /// The topic frame is empty.
  empty_topic,
  /// The topic frame is not valid UTF-8.
  topic_not_utf8,
  /// A frame is larger than the endpoint's max_message_bytes.
  too_large,
  /// The payload is not valid JSON on a json endpoint.
  invalid_json,
  /// The third frame is not a JSON object.
  invalid_meta,
};

/// Returns the stable name of `x` ("topic_not_utf8", ...), used as the
/// `reason` label of the malformed-input counters.
std::string_view to_string(frame_error x) noexcept;

/// An inbound message split into its parts: `[topic][payload]` with an
/// optional `[meta]`. Views into the received frames.
struct wire_message {
  std::string_view topic;
  std::string_view payload;
  std::string_view meta;
  bool has_meta = false;
};

/// Checks one inbound multipart message against the wire format and fills
/// `out` on success. `json` tells whether the payload must be JSON.
/// Never throws, whatever the bytes.
frame_error check_frames(const std::vector<std::string_view>& frames,
                         size_t max_message_bytes, bool json,
                         wire_message& out) noexcept;

/// Returns whether `text` is well-formed UTF-8 (no overlong forms, no
/// surrogates, nothing above U+10FFFF).
bool is_utf8(std::string_view text) noexcept;

/// The optional `[meta]` frame that a bridge endpoint with `meta = true`
/// and `troupe pub --meta` send: `{"seq", "src", "ts"}`.
struct meta_frame {
  /// Per topic and sender, counting from 1: a jump is a gap.
  uint64_t seq = 0;
  /// Who sent it: a bridge's `source_id`, "troupe-pub:PID".
  std::string src;
  /// When it was sent: nanoseconds since the Unix epoch.
  int64_t ts = 0;
};

/// `m` as the JSON text of a meta frame, e.g.
/// `{"seq":1,"src":"a","ts":1700000000000000000}`.
std::string encode_meta(const meta_frame& m);

/// Reads a meta frame. Returns nothing unless `text` is a JSON object with
/// an unsigned integer `seq`; `src` is empty and `ts` 0 when missing or of
/// another type. Throws nothing, whatever the bytes (but `bad_alloc`).
std::optional<meta_frame> decode_meta(std::string_view text);

} // namespace troupe::bridge
