#include "troupe/bridge/codec.hpp"

#include <caf/message.hpp>

#include "troupe/bridge/envelope.hpp"

namespace troupe::bridge {

namespace {

template <class T>
bool scalar(const caf::message& msg, codec_kind codec, std::string& out) {
  if (!msg.match_element<T>(0))
    return false;
  const auto& x = msg.get_as<T>(0);
  if (codec == codec_kind::json)
    out = nlohmann::json(x).dump();
  else if constexpr (std::is_same_v<T, bool>)
    out = x ? "true" : "false";
  else
    out = std::to_string(x);
  return true;
}

bool encode_unchecked(const caf::message& msg, codec_kind codec,
                      std::string& out) {
  if (msg.size() != 1)
    return false;
  if (msg.match_element<envelope>(0)) {
    out = msg.get_as<envelope>(0).payload;
    return true;
  }
  if (msg.match_element<nlohmann::json>(0)) {
    out = msg.get_as<nlohmann::json>(0).dump();
    return true;
  }
  if (msg.match_element<std::string>(0)) {
    const auto& s = msg.get_as<std::string>(0);
    out = codec == codec_kind::json ? nlohmann::json(s).dump() : s;
    return true;
  }
  return scalar<int64_t>(msg, codec, out) || scalar<int32_t>(msg, codec, out) ||
         scalar<uint64_t>(msg, codec, out) ||
         scalar<uint32_t>(msg, codec, out) || scalar<double>(msg, codec, out) ||
         scalar<bool>(msg, codec, out);
}

} // namespace

bool encode_payload(const caf::message& msg, codec_kind codec,
                    std::string& out) {
  try {
    return encode_unchecked(msg, codec, out);
  } catch (const std::exception&) {
    // e.g. a std::string that is not UTF-8 cannot become a JSON string.
    return false;
  }
}

} // namespace troupe::bridge
