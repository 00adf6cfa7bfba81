#pragma once

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

  /// Returns the one-line rendering.
  std::string to_string() const;
};

/// A list of diagnostics, in the order they were found.
using diagnostics = std::vector<diagnostic>;

/// Returns the candidate closest to `word` by edit distance when it is close
/// enough to be a plausible typo, else an empty string.
std::string closest_match(std::string_view word,
                          const std::vector<std::string>& candidates);

/// Returns " (did you mean 'x'?)" for the closest match, or "".
std::string did_you_mean(std::string_view word,
                         const std::vector<std::string>& candidates);

} // namespace troupe::config
