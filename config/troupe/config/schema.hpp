#pragma once

#include "troupe/config/value.hpp"

#include <deque>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace troupe::config {

class schema;

/// Why a table entry has no schema (e.g. an unknown service type): the key
/// to blame inside the entry and the message.
struct entry_problem {
  std::string key;
  std::string message;
};

/// Picks the schema for one entry of an `entries` table from its content,
/// e.g. by its `type`. Returns null and fills `problem` when there is none.
using entry_resolver = std::function<std::shared_ptr<const schema>(
  const table& entry, entry_problem& problem)>;

/// One declared setting: its key, type, default, constraints and help text.
/// Built fluently from `schema`:
///
/// ```
/// schema s;
/// s.integer("rate", "Ticks per second").fallback(10).at_least(1);
/// s.duration("period", "Time between
/// ticks").fallback(std::chrono::seconds{1}); s.string("codec", "Payload
/// encoding").fallback("json").one_of({"json", "raw"});
/// ```
struct field {
  std::string key;
  value_kind kind = value_kind::string;
  std::string description;
  /// Filled in when the key is absent; none means "no value" (optional).
  std::optional<value> default_value;
  bool required = false;
  /// Inclusive bounds for integers, floats and durations (in seconds).
  std::optional<double> min;
  std::optional<double> max;
  /// Allowed strings, empty for any.
  std::vector<std::string> choices;
  /// For lists: the kind of every element (none = any scalar).
  value_kind element = value_kind::none;
  /// For tables with fixed keys ("sections").
  std::shared_ptr<schema> section;
  /// For tables keyed by user-chosen names, each entry following this schema
  /// (e.g. `endpoints.NAME`).
  std::shared_ptr<schema> entries;
  /// For `entries`: when set, picks each entry's full schema; `entries` then
  /// holds the keys every entry has (checked even when this fails).
  entry_resolver resolve_entry;

  /// Sets the default.
  field& fallback(value x);
  /// Marks the key as required (no default).
  field& require();
  /// Sets an inclusive lower bound.
  field& at_least(double x);
  /// Sets an inclusive upper bound.
  field& at_most(double x);
  /// Restricts a string to one of `xs`.
  field& one_of(std::vector<std::string> xs);
  /// Sets the element kind of a list.
  field& of(value_kind k);

  /// Returns e.g. "integer >= 1", "one of json, raw", "list of string".
  std::string expectation() const;
};

/// The declared settings of one table: a service type, the `[app]` section,
/// or the app file as a whole. Fields keep their declaration order.
class schema {
public:
  schema() = default;

  /// Creates a schema with a one-line description (shown by `troupe types`).
  explicit schema(std::string description)
    : description_(std::move(description)) {}

  /// Declares a setting of kind `k`.
  field& add(std::string key, value_kind k, std::string description);

  field& boolean(std::string key, std::string description) {
    return add(std::move(key), value_kind::boolean, std::move(description));
  }
  field& integer(std::string key, std::string description) {
    return add(std::move(key), value_kind::integer, std::move(description));
  }
  field& floating(std::string key, std::string description) {
    return add(std::move(key), value_kind::floating, std::move(description));
  }
  field& string(std::string key, std::string description) {
    return add(std::move(key), value_kind::string, std::move(description));
  }
  field& duration(std::string key, std::string description) {
    return add(std::move(key), value_kind::duration, std::move(description));
  }
  field& list(std::string key, std::string description) {
    return add(std::move(key), value_kind::list, std::move(description));
  }

  /// Declares a nested table with fixed keys and returns its schema.
  schema& section(std::string key, std::string description);

  /// Declares a table of named entries (`[key.NAME]`), each following the
  /// returned schema.
  schema& entries(std::string key, std::string description);

  /// Declares a table of named entries whose full schema `resolve` picks per
  /// entry; the returned schema holds the keys every entry has.
  schema& entries(std::string key, std::string description,
                  entry_resolver resolve);

  /// Returns the field for `key`, or null.
  const field* find(std::string_view key) const noexcept;

  /// Returns the fields in declaration order.
  const std::deque<field>& fields() const noexcept { return fields_; }

  /// Returns all keys, for did-you-mean suggestions.
  std::vector<std::string> keys() const;

  /// Returns the one-line description.
  const std::string& description() const noexcept { return description_; }

  /// Returns the field at a dotted `path`, descending through sections and
  /// entries (`endpoints.in.hwm` finds `hwm` in the entries schema), or null.
  const field* lookup(std::string_view path) const noexcept;

  /// Appends every field of `other` (used to combine the common service
  /// keys with a type's own settings).
  void merge(const schema& other);

private:
  std::string description_;
  std::deque<field> fields_;
};

} // namespace troupe::config
