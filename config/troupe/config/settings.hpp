#pragma once

#include "troupe/config/value.hpp"

#include <memory>
#include <optional>
#include <string_view>
#include <type_traits>

namespace troupe::config {

/// The settings one service receives in `on_configure`: a read-only view of
/// its table with typed look-ups by dotted path.
///
/// ```
/// settings s{table{{"rate", 5}}};
/// auto rate = s.get_or<int64_t>("rate", 1);       // 5
/// auto name = s.get_or<std::string>("name", "x"); // "x"
/// ```
///
/// The table is immutable and shared: copies of one `settings` (the app's
/// spec, the supervisor's child spec, the service's own) cost a pointer,
/// not a table each.
class settings {
public:
  settings() = default;

  /// Wraps `values`. An empty table allocates nothing.
  explicit settings(table values)
    : values_(values.empty()
                ? nullptr
                : std::make_shared<const table>(std::move(values))) {}

  /// Returns all values.
  const table& values() const noexcept {
    return values_ != nullptr ? *values_ : empty();
  }

  /// Returns whether anything is stored at `path`.
  bool contains(std::string_view path) const noexcept {
    return find(values(), path) != nullptr;
  }

  /// Returns the value at `path` as `T`, or nothing when it is missing or of
  /// another kind. An integer reads as a double; nothing else converts.
  template <class T>
  std::optional<T> get(std::string_view path) const {
    auto* x = find(values(), path);
    if (x == nullptr)
      return std::nullopt;
    if constexpr (std::is_same_v<T, double>) {
      if (auto* i = x->get_if<int64_t>())
        return static_cast<double>(*i);
    }
    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
      if (auto* i = x->get_if<int64_t>())
        return static_cast<T>(*i);
      return std::nullopt;
    } else {
      if (auto* v = x->get_if<T>())
        return *v;
      return std::nullopt;
    }
  }

  /// Returns the value at `path` as `T`, or `fallback`.
  template <class T>
  T get_or(std::string_view path, T fallback) const {
    if (auto x = get<T>(path))
      return *x;
    return fallback;
  }

  /// Returns the value at `path` as a string, or `fallback`.
  std::string get_or(std::string_view path, const char* fallback) const {
    return get_or<std::string>(path, std::string{fallback});
  }

  friend bool operator==(const settings& x, const settings& y) {
    return x.values_ == y.values_ || x.values() == y.values();
  }
  friend bool operator!=(const settings& x, const settings& y) {
    return !(x == y);
  }

private:
  static const table& empty() noexcept {
    static const table none;
    return none;
  }

  std::shared_ptr<const table> values_;
};

} // namespace troupe::config
