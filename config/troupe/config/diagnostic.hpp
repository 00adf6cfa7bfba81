#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace troupe::config {

/// Where a value came from, lowest precedence first.
enum class origin_kind : uint8_t {
  defaults, ///< the schema's default
  file,     ///< the TOML file
  env,      ///< an environment variable TROUPE_SECTION__KEY
  cli,      ///< a command-line flag --set key=value
};

/// Returns "default", "file", "env" or "cli".
std::string_view to_string(origin_kind k) noexcept;

/// The source of one value: its kind and a human-readable place, e.g.
/// `app.toml:12:5`, `TROUPE_APP__NAME` or `--set app.name=x`.
struct origin {
  origin_kind kind = origin_kind::defaults;
  std::string where;

  /// Returns e.g. "app.toml:12:5" or "env TROUPE_APP__NAME" or "default".
  std::string describe() const;

  friend bool operator==(const origin& x, const origin& y) {
    return x.kind == y.kind && x.where == y.where;
  }
};

/// One configuration error: where, which key, and what is wrong.
///
/// Renders as one line, for example
/// `app.toml:12:5: services.gen.rate: expected integer >= 1, got "fast"`.
struct diagnostic {
  /// "file:line:column", "--set key=value", "TROUPE_X__Y" or a file name.
  std::string where;
  /// Dotted key path; empty for errors that are not about one key.
  std::string path;
  std::string message;
  /// Non-zero for the line that stands for errors left out (see
  /// cap_errors): how many.
  size_t left_out = 0;

  /// Returns the one-line rendering.
  std::string to_string() const;
};

/// A list of diagnostics, in the order they were found.
using diagnostics = std::vector<diagnostic>;

/// At most this many diagnostics are kept per validation pass (and printed
/// by `troupe check`); past it, one more says how many were left out, so a
/// file full of mistakes costs neither minutes nor gigabytes.
inline constexpr size_t max_reported_errors = 100;

/// Keeps the first `max_reported_errors` of `errors` and replaces the rest
/// with one diagnostic counting them (`left_out`).
void cap_errors(diagnostics& errors);

/// Returns a diagnostic that stands for `n` errors left out.
diagnostic left_out_errors(std::string where, size_t n);

/// Returns how many errors `errors` stands for (left-out ones included).
size_t count_errors(const diagnostics& errors);

/// Returns the candidate closest to `word` by edit distance when it is close
/// enough to be a plausible typo, else an empty string.
std::string closest_match(std::string_view word,
                          const std::vector<std::string>& candidates);

/// Returns " (did you mean 'x'?)" for the closest match, or "".
std::string did_you_mean(std::string_view word,
                         const std::vector<std::string>& candidates);

} // namespace troupe::config
