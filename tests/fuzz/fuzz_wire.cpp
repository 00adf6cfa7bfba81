// Fuzzes the bridge's inbound frame checks (troupe/bridge/wire.hpp).
//
// Input layout:
//   byte 0      bits 0-2: frame count (value % 5, so 0..4);
//               bits 3-4: max_message_bytes, one of 4, 64, 1024, 65536
//   then        for every frame but the last: one length byte, then that
//               many bytes (fewer when the input ends); the last frame takes
//               the rest
//
// Besides "never crashes", checks what check_frames promises about an
// accepted message, and checks is_utf8 against nlohmann-json's UTF-8
// validation of string literals.

#include "troupe/bridge/wire.hpp"

#include "invariant.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

using namespace troupe::bridge;

namespace {

std::vector<std::string_view> split_frames(std::string_view in,
                                           size_t& max_bytes) {
  std::vector<std::string_view> frames;
  if (in.empty()) {
    max_bytes = 64;
    return frames;
  }
  auto header = static_cast<unsigned char>(in.front());
  in.remove_prefix(1);
  constexpr size_t limits[] = {4, 64, 1024, 65536};
  max_bytes = limits[(header >> 3) & 3];
  size_t count = (header & 7) % 5;
  for (size_t i = 0; i < count; ++i) {
    if (i + 1 == count) {
      frames.push_back(in);
      break;
    }
    size_t len = 0;
    if (!in.empty()) {
      len = static_cast<unsigned char>(in.front());
      in.remove_prefix(1);
    }
    len = std::min(len, in.size());
    frames.push_back(in.substr(0, len));
    in.remove_prefix(len);
  }
  return frames;
}

// nlohmann-json accepts a string literal exactly when its bytes are
// well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing
// above U+10FFFF), once the bytes JSON wants escaped are replaced by ASCII.
bool json_thinks_utf8(std::string_view text) {
  std::string literal = "\"";
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    literal += (u < 0x20 || c == '"' || c == '\\') ? 'a' : c;
  }
  literal += '"';
  return nlohmann::json::accept(literal);
}

void check_accepted(const std::vector<std::string_view>& frames,
                    size_t max_bytes, bool json, const wire_message& out) {
  TROUPE_FUZZ_REQUIRE(frames.size() == 2 || frames.size() == 3);
  for (auto& f : frames)
    TROUPE_FUZZ_REQUIRE(f.size() <= max_bytes);
  TROUPE_FUZZ_REQUIRE(!out.topic.empty());
  TROUPE_FUZZ_REQUIRE(out.topic.data() == frames[0].data());
  TROUPE_FUZZ_REQUIRE(out.topic.size() == frames[0].size());
  TROUPE_FUZZ_REQUIRE(is_utf8(out.topic));
  TROUPE_FUZZ_REQUIRE(out.payload.data() == frames[1].data());
  TROUPE_FUZZ_REQUIRE(out.payload.size() == frames[1].size());
  TROUPE_FUZZ_REQUIRE(!json || nlohmann::json::accept(out.payload));
  TROUPE_FUZZ_REQUIRE(out.has_meta == (frames.size() == 3));
  if (out.has_meta) {
    TROUPE_FUZZ_REQUIRE(out.meta == frames[2]);
    auto meta = nlohmann::json::parse(out.meta, nullptr, false);
    TROUPE_FUZZ_REQUIRE(!meta.is_discarded() && meta.is_object());
  } else {
    TROUPE_FUZZ_REQUIRE(out.meta.empty());
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in{reinterpret_cast<const char*>(data), size};
  size_t max_bytes = 0;
  auto frames = split_frames(in, max_bytes);

  frame_error results[2][2]; // [json][unlimited]
  for (int json = 0; json < 2; ++json)
    for (int unlimited = 0; unlimited < 2; ++unlimited) {
      auto limit = unlimited ? std::numeric_limits<size_t>::max() : max_bytes;
      wire_message out;
      auto r = check_frames(frames, limit, json == 1, out);
      TROUPE_FUZZ_REQUIRE(to_string(r) != "unknown");
      if (r == frame_error::none)
        check_accepted(frames, limit, json == 1, out);
      results[json][unlimited] = r;
    }
  // Relaxing a requirement never rejects what passed with it.
  for (int unlimited = 0; unlimited < 2; ++unlimited)
    if (results[1][unlimited] == frame_error::none)
      TROUPE_FUZZ_REQUIRE(results[0][unlimited] == frame_error::none);
  for (auto& result : results)
    if (result[0] == frame_error::none)
      TROUPE_FUZZ_REQUIRE(result[1] == frame_error::none);

  for (auto& f : frames)
    TROUPE_FUZZ_REQUIRE(is_utf8(f) == json_thinks_utf8(f));
  TROUPE_FUZZ_REQUIRE(is_utf8(in) == json_thinks_utf8(in));
  return 0;
}
