// Validation of a layered_config against a schema: type checks, conversion
// of text overrides, bounds, choices, unknown keys, defaults.

#include "troupe/config/duration.hpp"
#include "troupe/config/layered_config.hpp"
#include "troupe/config/schema.hpp"
#include "troupe/config/text_value.hpp"

namespace troupe::config {

namespace {

std::string shown(const value& v) {
  auto out = to_toml(v);
  if (out.size() > 60)
    out = out.substr(0, 57) + "...";
  return out;
}

double seconds(duration d) {
  return std::chrono::duration<double>(d).count();
}

} // namespace

class validator {
public:
  validator(layered_config& cfg, diagnostics& out) : cfg_(cfg), out_(out) {}

  void check_table(const schema& s, table& t, const std::string& prefix,
                   bool allow_unknown) {
    for (auto& [key, v] : t) {
      auto path = join_path(prefix, key);
      auto* f = s.find(key);
      if (f == nullptr) {
        if (!allow_unknown && full())
          ++left_out_; // no suggestion search for errors nobody sees
        else if (!allow_unknown)
          error_at_key(path, "unknown key '" + key + "'" +
                               did_you_mean(key, s.keys()));
        continue;
      }
      check_value(*f, v, path);
    }
    for (auto& f : s.fields()) {
      if (t.count(f.key) > 0)
        continue;
      auto path = join_path(prefix, f.key);
      if (f.required) {
        add({cfg_.where(prefix.empty() ? path : prefix), path,
             "missing required key '" + f.key + "' (" + f.expectation() + ")"});
      } else if (f.default_value) {
        // No origin recorded: a value without one is a default (origin_of).
        // At 100,000 services, recording them was a third of loading.
        t[f.key] = *f.default_value;
      } else if (f.section) {
        auto& slot = t[f.key] = table{};
        check_table(*f.section, *slot.get_if<table>(), path, false);
      }
    }
  }

private:
  bool from_text(const std::string& path, const value& v) const {
    if (v.get_if<std::string>() == nullptr)
      return false;
    auto* o = cfg_.origin_of(path);
    return o != nullptr &&
           (o->kind == origin_kind::env || o->kind == origin_kind::cli);
  }

  void mismatch(const field& f, const value& got, const std::string& path) {
    add({cfg_.where(path), path,
         "expected " + f.expectation() + ", got " + shown(got)});
  }

  void error_at_key(const std::string& path, std::string msg) {
    auto i = cfg_.key_positions_.find(path);
    auto where = i != cfg_.key_positions_.end() ? i->second : cfg_.where(path);
    add({std::move(where), path, std::move(msg)});
  }

  bool in_bounds(const field& f, double x) const {
    return (!f.min || x >= *f.min) && (!f.max || x <= *f.max);
  }

  // Converts `v` to `kind` (text overrides and duration strings) in place.
  // Returns false when it does not hold a value of that kind.
  bool coerce(value_kind kind, value& v, bool text) {
    auto* s = v.get_if<std::string>();
    switch (kind) {
    case value_kind::none:
      return v.kind() != value_kind::table && v.kind() != value_kind::list;
    case value_kind::boolean:
      if (text)
        if (auto b = parse_bool_text(*s)) {
          v = *b;
          return true;
        }
      return v.kind() == value_kind::boolean;
    case value_kind::integer:
      if (text)
        if (auto i = parse_integer_text(*s)) {
          v = *i;
          return true;
        }
      return v.kind() == value_kind::integer;
    case value_kind::floating:
      if (text)
        if (auto d = parse_float_text(*s)) {
          v = *d;
          return true;
        }
      if (auto* i = v.get_if<int64_t>()) {
        v = static_cast<double>(*i);
        return true;
      }
      return v.kind() == value_kind::floating;
    case value_kind::string:
      return s != nullptr;
    case value_kind::duration:
      if (s != nullptr)
        if (auto d = parse_duration(*s)) {
          v = *d;
          return true;
        }
      return v.kind() == value_kind::duration;
    case value_kind::list:
      if (text)
        if (auto xs = parse_list_text(*s)) {
          v = std::move(*xs);
          return true;
        }
      return v.kind() == value_kind::list;
    case value_kind::table:
      return v.kind() == value_kind::table;
    }
    return false;
  }

  void check_value(const field& f, value& v, const std::string& path) {
    auto text = from_text(path, v);
    if (f.kind == value_kind::table && text) {
      add({cfg_.where(path), path,
           "a table cannot be set from text; set its keys one "
           "at a time (" +
             path + ".KEY=VALUE)"});
      return;
    }
    auto original = v;
    if (!coerce(f.kind, v, text)) {
      mismatch(f, original, path);
      return;
    }
    switch (f.kind) {
    case value_kind::integer:
      if (!in_bounds(f, static_cast<double>(*v.get_if<int64_t>())))
        mismatch(f, original, path);
      break;
    case value_kind::floating:
      if (!in_bounds(f, *v.get_if<double>()))
        mismatch(f, original, path);
      break;
    case value_kind::duration:
      if (!in_bounds(f, seconds(*v.get_if<duration>())))
        mismatch(f, original, path);
      break;
    case value_kind::string:
      if (!f.choices.empty()) {
        auto& str = *v.get_if<std::string>();
        bool ok = false;
        for (auto& c : f.choices)
          ok = ok || c == str;
        if (!ok)
          add({cfg_.where(path), path,
               "expected " + f.expectation() + ", got " + shown(original) +
                 did_you_mean(str, f.choices)});
      }
      break;
    case value_kind::list: {
      auto& xs = *v.get_if<list>();
      for (size_t i = 0; i < xs.size(); ++i) {
        auto elem_path = path + '[' + std::to_string(i) + ']';
        auto elem_text = text && xs[i].get_if<std::string>() != nullptr;
        auto before = xs[i];
        if (!coerce(f.element, xs[i], elem_text))
          add({cfg_.where(elem_path), elem_path,
               "expected " + std::string{to_string(f.element)} + ", got " +
                 shown(before)});
      }
      break;
    }
    case value_kind::table:
      check_table_field(f, *v.get_if<table>(), path);
      break;
    default:
      break;
    }
  }

  void check_table_field(const field& f, table& t, const std::string& path) {
    if (f.section) {
      check_table(*f.section, t, path, false);
      return;
    }
    if (!f.entries)
      return; // free-form table
    for (auto& [name, entry] : t) {
      auto entry_path = join_path(path, name);
      auto* entry_table = entry.get_if<table>();
      if (entry_table == nullptr) {
        add({cfg_.where(entry_path), entry_path,
             "expected a table ([" + entry_path + "]), got " + shown(entry)});
        continue;
      }
      if (!f.resolve_entry) {
        check_table(*f.entries, *entry_table, entry_path, false);
        continue;
      }
      entry_problem problem;
      auto full = f.resolve_entry(*entry_table, problem);
      if (full) {
        check_table(*full, *entry_table, entry_path, false);
      } else {
        auto key_path = join_path(entry_path, problem.key);
        if (!problem.message.empty())
          add({cfg_.where(key_path), key_path, problem.message});
        check_table(*f.entries, *entry_table, entry_path, true);
      }
    }
  }

public:
  /// Errors found but not kept (past max_reported_errors).
  size_t left_out() const noexcept { return left_out_; }

private:
  bool full() const noexcept { return out_.size() >= max_reported_errors; }

  void add(diagnostic d) {
    if (full())
      ++left_out_;
    else
      out_.push_back(std::move(d));
  }

  layered_config& cfg_;
  diagnostics& out_;
  size_t left_out_ = 0;
};

diagnostics layered_config::check_values(const schema& s, table& values,
                                         std::string where) {
  layered_config cfg;
  cfg.file_ = std::move(where);
  cfg.values_ = std::move(values);
  auto out = cfg.validate(s);
  values = std::move(cfg.values_);
  return out;
}

diagnostics layered_config::validate(const schema& root) {
  diagnostics out;
  validator v{*this, out};
  v.check_table(root, values_, {}, false);
  if (v.left_out() > 0)
    out.push_back(left_out_errors(file_, v.left_out()));
  return out;
}

} // namespace troupe::config
