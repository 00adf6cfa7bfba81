#pragma once

// One table per enum for both directions of enum <-> text: `name` and
// `parse` read the same entries, so they cannot disagree.
//
//   constexpr enum_names<color, 2> color_names{{{
//     {color::red, "red"},
//     {color::green, "green"},
//   }}};
//   color_names.name(color::red);   // "red"
//   color_names.parse("green");     // color::green
//
// A switch would warn about a new enumerator; a table does not, so give
// the table its size from the enum where one exists (`..._count`) and
// check it with `enum_names::covers`.

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace troupe {

template <class E, size_t N>
struct enum_names {
  std::array<std::pair<E, std::string_view>, N> entries;

  /// The name of `x`; `fallback` for a value outside the table.
  constexpr std::string_view
  name(E x, std::string_view fallback = "unknown") const noexcept {
    for (auto& entry : entries)
      if (entry.first == x)
        return entry.second;
    return fallback;
  }

  /// The value named `text` (exact match); nullopt for any other text.
  constexpr std::optional<E> parse(std::string_view text) const noexcept {
    for (auto& entry : entries)
      if (entry.second == text)
        return entry.first;
    return std::nullopt;
  }

  /// Every name, in table order (e.g. for a schema's `one_of`).
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    out.reserve(N);
    for (auto& entry : entries)
      out.emplace_back(entry.second);
    return out;
  }

  /// Whether the entries are the values 0 .. N-1 in order (for enums that
  /// count their values).
  constexpr bool covers() const noexcept {
    for (size_t i = 0; i < N; ++i)
      if (static_cast<size_t>(entries[i].first) != i)
        return false;
    return true;
  }
};

} // namespace troupe
