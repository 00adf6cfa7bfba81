#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>
#include <nlohmann/json.hpp>

#include "troupe/actors/batch_of.hpp"

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

/// Many messages on one topic in one actor message: the payloads back to
/// back in one buffer. It is the bulk path through the bridge: published
/// locally, each payload goes out as its own `[topic][payload]` ZMQ message
/// (nothing is re-encoded); an inbound endpoint with `batch = true`
/// publishes what one socket had ready as envelope batches instead of one
/// envelope per message. Meta frames are checked (gaps counted) but not
/// carried.
///
/// ```
/// bridge::envelope_batch b{"prices."};
/// b.add(R"({"px":1})");
/// b.add(R"({"px":2})");
/// publish("prices.", std::move(b));
/// ```
struct envelope_batch {
  std::string topic;
  /// Every payload, back to back.
  std::string data;
  /// Where each payload ends in `data`.
  std::vector<uint32_t> ends;
  /// As envelope::via.
  std::string via;

  envelope_batch() = default;
  explicit envelope_batch(std::string t) : topic(std::move(t)) {}

  size_t size() const noexcept { return ends.size(); }
  bool empty() const noexcept { return ends.empty(); }

  void add(std::string_view payload) {
    data.append(payload);
    ends.push_back(static_cast<uint32_t>(data.size()));
  }

  std::string_view operator[](size_t i) const noexcept {
    auto begin = i == 0 ? 0 : ends[i - 1];
    return std::string_view{data}.substr(begin, ends[i] - begin);
  }
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

namespace troupe {

/// `subscribe<bridge::envelope>` handlers also take envelope batches (from
/// a `batch = true` endpoint or a bulk publisher), one envelope per payload.
/// The envelope handed over is reused for every item: copy what must
/// outlive the call.
template <>
struct batch_of<bridge::envelope> {
  using type = bridge::envelope_batch;

  static size_t size(const bridge::envelope_batch& b) noexcept {
    return b.size();
  }

  template <class F>
  static void for_each(const bridge::envelope_batch& b, F&& f) {
    bridge::envelope e{b.topic, {}, {}, b.via};
    for (size_t i = 0; i < b.size(); ++i) {
      e.payload.assign(b[i]);
      if (!f(std::as_const(e)))
        return;
    }
  }
};

} // namespace troupe

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::bridge::envelope)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::bridge::envelope_batch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(nlohmann::json)
