#pragma once

#include "troupe/config/diagnostic.hpp"
#include "troupe/config/value.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace troupe::config {

class schema;

/// A configuration tree assembled from layers (defaults < file < env < CLI),
/// remembering where every value came from.
///
/// ```
/// layered_config cfg;
/// auto errors = cfg.parse_toml("[app]\nname = \"demo\"\n", "app.toml");
/// errors = cfg.apply_set("app.name=other");   // CLI beats the file
/// cfg.origin_of("app.name")->describe();       // "--set app.name=other"
/// ```
class layered_config {
public:
  /// Environment variables as (name, value) pairs.
  using environment = std::vector<std::pair<std::string, std::string>>;

  /// Parses TOML `text` and merges it over what is there. `file_name` names
  /// the source in positions ("app.toml:3:7"). Never throws; a syntax error
  /// is returned as one diagnostic with its line and column.
  diagnostics parse_toml(std::string_view text, std::string_view file_name);

  /// The largest file `load_file` reads (an app of 100 000 services takes
  /// a few MiB).
  static constexpr uintmax_t max_app_file_bytes = uintmax_t{32} * 1024 * 1024;

  /// Reads and parses the file at `path`; refuses a file larger than
  /// max_app_file_bytes with one diagnostic.
  diagnostics load_file(const std::string& path);

  /// Applies every `TROUPE_<SECTION>__<KEY>` variable of `env` (double
  /// underscore nests; names are lowercased). Values are kept as text and
  /// parsed by the key's declared type during validation.
  diagnostics apply_env(const environment& env);

  /// Applies one `--set path=value` assignment; the value is kept as text and
  /// parsed by the key's declared type during validation.
  diagnostics apply_set(std::string_view assignment);

  /// Checks every value against `root`, converts text overrides and duration
  /// strings to their declared types, fills in defaults, and returns every
  /// problem found (not just the first).
  diagnostics validate(const schema& root);

  /// Returns the values.
  const table& values() const noexcept { return values_; }

  /// Returns the origin of the value at `path`: where a layer set it, or
  /// `origin_kind::defaults` for a value validation filled in; null when
  /// nothing is at `path`.
  const origin* origin_of(std::string_view path) const noexcept;

  /// Returns all origins by path.
  const std::map<std::string, origin, std::less<>>& origins() const noexcept {
    return origins_;
  }

  /// Returns where a diagnostic about `path` points: its own origin, its
  /// key's position, or the closest enclosing one.
  std::string where(std::string_view path) const;

  /// Returns the name of the last file loaded.
  const std::string& file() const noexcept { return file_; }

  /// Checks `values` against `s` as `validate` does, in place: the settings
  /// a service receives when configured from code rather than a file.
  /// Diagnostics name `where` ("settings of 'gen'") instead of a position.
  static diagnostics check_values(const schema& s, table& values,
                                  std::string where);

  /// Reads the process environment.
  static environment process_environment();

private:
  friend class validator;

  void set_text(const std::string& path, std::string text, origin from);
  void erase_origins_below(std::string_view path);

  std::string file_;
  table values_;
  std::map<std::string, origin, std::less<>> origins_;
  // Where each key was written in the file (for unknown-key errors).
  std::map<std::string, std::string, std::less<>> key_positions_;
};

/// Resolves a project-aware path: with `TROUPE_PROJECT=name` set in `env`,
/// returns `projects/<name>/<file>` (relative to the file's directory) when
/// that file exists, else `file`.
std::string resolve_project_path(const std::string& file,
                                 const layered_config::environment& env);

} // namespace troupe::config
