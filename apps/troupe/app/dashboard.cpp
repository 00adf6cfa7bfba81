#include "troupe/app/dashboard.hpp"

#include <algorithm>
#include <charconv>

namespace troupe::app {

std::string dashboard_page(bool needs_token) {
  static constexpr std::string_view placeholder = "@TROUPE_AUTH@";
  std::string page{dashboard_page_source()};
  if (auto pos = page.find(placeholder); pos != std::string::npos)
    page.replace(pos, placeholder.size(), needs_token ? "token" : "none");
  return page;
}

std::optional<size_t> parse_log_tail(std::string_view x) noexcept {
  if (x.empty())
    return size_t{100};
  size_t n = 0;
  auto [end, ec] = std::from_chars(x.data(), x.data() + x.size(), n);
  if (ec == std::errc::result_out_of_range && end == x.data() + x.size())
    return max_log_tail;
  if (ec != std::errc{} || end != x.data() + x.size())
    return std::nullopt;
  return std::min(n, max_log_tail);
}

} // namespace troupe::app
