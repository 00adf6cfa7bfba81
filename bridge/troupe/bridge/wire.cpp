#include "troupe/bridge/wire.hpp"

#include <nlohmann/json.hpp>

#include "troupe/config/enum_names.hpp"

namespace troupe::bridge {

namespace {

// Whether `text` is one JSON object. accept() validates without building a
// document and, unlike parse(), has no throwing path to reach from a noexcept
// caller. A valid JSON text is an object iff its first token is '{', after
// whitespace and the UTF-8 byte order mark that nlohmann skips.
bool is_json_object(std::string_view text) noexcept {
  if (!nlohmann::json::accept(text))
    return false;
  constexpr std::string_view bom = "\xEF\xBB\xBF";
  if (text.substr(0, bom.size()) == bom)
    text.remove_prefix(bom.size());
  auto first = text.find_first_not_of(" \t\n\r");
  return first != std::string_view::npos && text[first] == '{';
}

} // namespace

namespace {

constexpr enum_names<frame_error, 9> frame_errors{{{
  {frame_error::none, "none"},
  {frame_error::no_frames, "no_frames"},
  {frame_error::missing_payload, "missing_payload"},
  {frame_error::too_many_frames, "too_many_frames"},
  {frame_error::empty_topic, "empty_topic"},
  {frame_error::topic_not_utf8, "topic_not_utf8"},
  {frame_error::too_large, "too_large"},
  {frame_error::invalid_json, "invalid_json"},
  {frame_error::invalid_meta, "invalid_meta"},
}}};
static_assert(frame_errors.covers());

} // namespace

std::string_view to_string(frame_error x) noexcept {
  return frame_errors.name(x);
}

bool is_utf8(std::string_view text) noexcept {
  auto* p = reinterpret_cast<const unsigned char*>(text.data());
  auto* end = p + text.size();
  while (p < end) {
    unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    size_t len;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (static_cast<size_t>(end - p) < len)
      return false;
    for (size_t i = 1; i < len; ++i) {
      if ((p[i] & 0xC0) != 0x80)
        return false;
      cp = (cp << 6) | (p[i] & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
        (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    p += len;
  }
  return true;
}

frame_error check_frames(const std::vector<std::string_view>& frames,
                         size_t max_message_bytes, bool json,
                         wire_message& out) noexcept {
  if (frames.empty())
    return frame_error::no_frames;
  if (frames.size() == 1)
    return frame_error::missing_payload;
  if (frames.size() > 3)
    return frame_error::too_many_frames;
  for (auto& f : frames)
    if (f.size() > max_message_bytes)
      return frame_error::too_large;
  auto topic = frames[0];
  if (topic.empty())
    return frame_error::empty_topic;
  if (!is_utf8(topic))
    return frame_error::topic_not_utf8;
  if (json && !nlohmann::json::accept(frames[1]))
    return frame_error::invalid_json;
  out = wire_message{topic, frames[1], {}, false};
  if (frames.size() == 3) {
    if (!is_json_object(frames[2]))
      return frame_error::invalid_meta;
    out.meta = frames[2];
    out.has_meta = true;
  }
  return frame_error::none;
}

std::string encode_meta(const meta_frame& m) {
  return nlohmann::json{{"seq", m.seq}, {"src", m.src}, {"ts", m.ts}}.dump();
}

std::optional<meta_frame> decode_meta(std::string_view text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object())
    return std::nullopt;
  auto seq = j.find("seq");
  if (seq == j.end() || !seq->is_number_unsigned())
    return std::nullopt;
  meta_frame m;
  m.seq = seq->get<uint64_t>();
  if (auto src = j.find("src"); src != j.end() && src->is_string())
    m.src = src->get<std::string>();
  if (auto ts = j.find("ts"); ts != j.end() && ts->is_number_integer())
    m.ts = ts->get<int64_t>();
  return m;
}

} // namespace troupe::bridge
