#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace troupe::config {

class value;

/// An ordered list of values.
using list = std::vector<value>;

/// Keys to values, ordered by key so that printing is stable.
using table = std::map<std::string, value, std::less<>>;

/// A span of time; TOML spells it as a string like "250ms", "5s" or "2m".
using duration = std::chrono::nanoseconds;

/// The kinds of value a setting can hold.
enum class value_kind : uint8_t {
  none,
  boolean,
  integer,
  floating,
  string,
  duration,
  list,
  table,
};

/// Returns the stable name of `k` ("integer", "duration", ...).
std::string_view to_string(value_kind k) noexcept;

/// One configuration value: a scalar, a list or a nested table.
class value {
public:
  using variant_type = std::variant<std::monostate, bool, int64_t, double,
                                    std::string, duration, list, table>;

  value() = default;
  value(bool x) : v_(x) {}
  value(int x) : v_(static_cast<int64_t>(x)) {}
  value(int64_t x) : v_(x) {}
  value(double x) : v_(x) {}
  value(const char* x) : v_(std::string{x}) {}
  value(std::string x) : v_(std::move(x)) {}
  value(duration x) : v_(x) {}
  value(list x) : v_(std::move(x)) {}
  value(table x) : v_(std::move(x)) {}

  /// Returns what this value holds.
  value_kind kind() const noexcept {
    return static_cast<value_kind>(v_.index());
  }

  /// Returns a pointer to the held `T`, or null when it holds something else.
  template <class T>
  const T* get_if() const noexcept {
    return std::get_if<T>(&v_);
  }

  /// Returns a pointer to the held `T`, or null when it holds something else.
  template <class T>
  T* get_if() noexcept {
    return std::get_if<T>(&v_);
  }

  /// Returns the underlying variant.
  const variant_type& data() const noexcept { return v_; }

  friend bool operator==(const value& x, const value& y) {
    return x.v_ == y.v_;
  }
  friend bool operator!=(const value& x, const value& y) { return !(x == y); }

private:
  variant_type v_;
};

/// Renders `x` as TOML would spell it: strings quoted, durations as "250ms",
/// lists in brackets, tables inline.
std::string to_toml(const value& x);

/// Returns `key` as TOML spells it: bare when it can be, quoted otherwise.
std::string toml_key(std::string_view key);

/// Returns `prefix.key`, or `key` when `prefix` is empty.
std::string join_path(std::string_view prefix, std::string_view key);

/// Finds the value at a dotted `path` ("endpoints.in.hwm") in `root`.
/// Returns null when any part is missing or not a table.
const value* find(const table& root, std::string_view path) noexcept;

/// Stores `x` at a dotted `path` in `root`, creating intermediate tables and
/// replacing non-table values on the way.
void put(table& root, std::string_view path, value x);

} // namespace troupe::config
