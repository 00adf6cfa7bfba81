#include "troupe/config/text_value.hpp"

#include <toml++/toml.h>

#include <cctype>
#include <charconv>
#include <string>

namespace troupe::config {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
    s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
    s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size())
    return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

// from_chars takes a '-' but no '+'. Drops a leading '+' unless a second
// sign follows: "+-5" is no number.
std::string_view drop_plus(std::string_view s) {
  if (s.size() > 1 && s.front() == '+' && s[1] != '-')
    s.remove_prefix(1);
  return s;
}

} // namespace

std::optional<bool> parse_bool_text(std::string_view text) noexcept {
  text = trim(text);
  for (auto t : {"true", "yes", "on", "1"})
    if (iequals(text, t))
      return true;
  for (auto f : {"false", "no", "off", "0"})
    if (iequals(text, f))
      return false;
  return std::nullopt;
}

std::optional<int64_t> parse_integer_text(std::string_view text) noexcept {
  text = drop_plus(trim(text));
  int64_t out = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size())
    return std::nullopt;
  return out;
}

std::optional<double> parse_float_text(std::string_view text) noexcept {
  text = drop_plus(trim(text));
  double out = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size())
    return std::nullopt;
  return out;
}

std::optional<list> parse_list_text(std::string_view text) noexcept {
  try {
    text = trim(text);
    list out;
    if (text.empty())
      return out;
    if (text.front() == '[') {
      std::string doc = "v = ";
      doc += text;
      auto parsed = toml::parse(doc);
      auto* arr = parsed["v"].as_array();
      if (arr == nullptr)
        return std::nullopt;
      for (auto&& elem : *arr) {
        if (auto* s = elem.as_string())
          out.emplace_back(std::string{s->get()});
        else if (auto* i = elem.as_integer())
          out.emplace_back(i->get());
        else if (auto* d = elem.as_floating_point())
          out.emplace_back(d->get());
        else if (auto* b = elem.as_boolean())
          out.emplace_back(b->get());
        else
          return std::nullopt;
      }
      return out;
    }
    while (true) {
      auto comma = text.find(',');
      out.emplace_back(std::string{trim(text.substr(0, comma))});
      if (comma == std::string_view::npos)
        break;
      text.remove_prefix(comma + 1);
    }
    return out;
  } catch (...) {
    return std::nullopt;
  }
}

} // namespace troupe::config
