#include "troupe/config/diagnostic.hpp"

#include <algorithm>
#include <cctype>

#include "troupe/config/enum_names.hpp"

namespace troupe::config {

std::string_view to_string(origin_kind k) noexcept {
  constexpr enum_names<origin_kind, 4> names{{{
    {origin_kind::defaults, "default"},
    {origin_kind::file, "file"},
    {origin_kind::env, "env"},
    {origin_kind::cli, "cli"},
  }}};
  return names.name(k);
}

std::string origin::describe() const {
  switch (kind) {
  case origin_kind::defaults:
    return "default";
  case origin_kind::file:
    return where;
  case origin_kind::env:
    return "env " + where;
  case origin_kind::cli:
    return where;
  }
  return where;
}

std::string diagnostic::to_string() const {
  std::string out = where;
  if (!out.empty())
    out += ": ";
  if (!path.empty()) {
    out += path;
    out += ": ";
  }
  out += message;
  return out;
}

namespace {

// Optimal string alignment distance (Damerau-Levenshtein with adjacent
// transpositions), case-insensitive: "servces" -> "services" is 1.
size_t edit_distance(std::string_view a, std::string_view b) {
  auto lower = [](char c) {
    return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  };
  std::vector<std::vector<size_t>> d(a.size() + 1,
                                     std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i)
    d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j)
    d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i)
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t cost = lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1;
      d[i][j] =
        std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) &&
          lower(a[i - 2]) == lower(b[j - 1]))
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.size()][b.size()];
}

} // namespace

std::string closest_match(std::string_view word,
                          const std::vector<std::string>& candidates) {
  // Typos of long words may be longer; short words tolerate one slip.
  size_t limit = std::max<size_t>(1, std::min<size_t>(3, word.size() / 3));
  std::string best;
  size_t best_distance = limit + 1;
  for (auto& c : candidates) {
    auto dist = edit_distance(word, c);
    if (dist < best_distance) {
      best_distance = dist;
      best = c;
    }
  }
  return best;
}

std::string did_you_mean(std::string_view word,
                         const std::vector<std::string>& candidates) {
  auto best = closest_match(word, candidates);
  if (best.empty())
    return {};
  return " (did you mean '" + best + "'?)";
}

diagnostic left_out_errors(std::string where, size_t n) {
  diagnostic d{std::move(where), "",
               "... and " + std::to_string(n) +
                 " more error(s) not shown (the first " +
                 std::to_string(max_reported_errors) + " are listed)"};
  d.left_out = n;
  return d;
}

size_t count_errors(const diagnostics& errors) {
  size_t n = 0;
  for (auto& e : errors)
    n += e.left_out > 0 ? e.left_out : 1;
  return n;
}

void cap_errors(diagnostics& errors) {
  if (errors.size() <= max_reported_errors)
    return;
  size_t more = 0;
  for (auto i = max_reported_errors; i < errors.size(); ++i)
    more += errors[i].left_out > 0 ? errors[i].left_out : 1;
  auto where = errors.back().where;
  errors.resize(max_reported_errors);
  errors.push_back(left_out_errors(std::move(where), more));
}

} // namespace troupe::config
