#include "troupe/config/duration.hpp"

#include <cmath>
#include <limits>

namespace troupe::config {

namespace {

struct unit {
  std::string_view suffix;
  int64_t nanos;
};

// Longest suffixes first so that "ms" is not read as "m".
constexpr unit units[] = {
  {"ns", 1},
  {"us", 1'000},
  {"ms", 1'000'000},
  {"s", 1'000'000'000},
  {"m", 60'000'000'000},
  {"h", 3'600'000'000'000},
};

} // namespace

std::optional<duration> parse_duration(std::string_view text) noexcept {
  // Split into a number and a unit suffix.
  size_t i = 0;
  while (i < text.size() &&
         ((text[i] >= '0' && text[i] <= '9') || text[i] == '.'))
    ++i;
  auto number = text.substr(0, i);
  auto suffix = text.substr(i);
  if (number.empty() || number.front() == '.' || number.back() == '.' ||
      suffix.empty())
    return std::nullopt;
  int64_t scale = 0;
  for (auto& u : units)
    if (suffix == u.suffix)
      scale = u.nanos;
  if (scale == 0)
    return std::nullopt;
  auto dot = number.find('.');
  if (dot != std::string_view::npos &&
      number.find('.', dot + 1) != std::string_view::npos)
    return std::nullopt;
  // Integer part with overflow checks, then up to 9 fractional digits.
  constexpr auto max = std::numeric_limits<int64_t>::max();
  int64_t whole = 0;
  for (char c : number.substr(0, dot)) {
    if (whole > (max - (c - '0')) / 10)
      return std::nullopt;
    whole = whole * 10 + (c - '0');
  }
  if (whole > max / scale)
    return std::nullopt;
  int64_t result = whole * scale;
  if (dot != std::string_view::npos) {
    auto frac = number.substr(dot + 1);
    long double part = 0;
    long double weight = 0.1L;
    for (char c : frac) {
      part += (c - '0') * weight;
      weight /= 10;
    }
    auto extra = static_cast<int64_t>(std::llround(part * scale));
    if (result > max - extra)
      return std::nullopt;
    result += extra;
  }
  return duration{result};
}

std::string format_duration(duration d) {
  auto n = d.count();
  if (n == 0)
    return "0s";
  // Pick the largest unit that divides exactly.
  for (auto i = std::size(units); i-- > 0;) {
    auto& u = units[i];
    if (n % u.nanos == 0)
      return std::to_string(n / u.nanos) + std::string{u.suffix};
  }
  return std::to_string(n) + "ns";
}

} // namespace troupe::config
