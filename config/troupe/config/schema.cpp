#include "troupe/config/schema.hpp"

#include "troupe/config/duration.hpp"

#include <cmath>
#include <cstdio>

namespace troupe::config {

field& field::fallback(value x) {
  default_value = std::move(x);
  return *this;
}

field& field::require() {
  required = true;
  default_value.reset();
  return *this;
}

field& field::at_least(double x) {
  min = x;
  return *this;
}

field& field::at_most(double x) {
  max = x;
  return *this;
}

field& field::one_of(std::vector<std::string> xs) {
  choices = std::move(xs);
  return *this;
}

field& field::of(value_kind k) {
  element = k;
  return *this;
}

namespace {

std::string number(double x, value_kind k) {
  if (k == value_kind::duration)
    return format_duration(
      std::chrono::duration_cast<duration>(std::chrono::duration<double>{x}));
  if (std::floor(x) == x && std::fabs(x) < 1e15)
    return std::to_string(static_cast<long long>(x));
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g", x);
  return buf;
}

} // namespace

std::string field::expectation() const {
  std::string out{to_string(kind)};
  if (kind == value_kind::list && element != value_kind::none) {
    out += " of ";
    out += to_string(element);
  }
  if (kind == value_kind::table && entries)
    out = "table of named tables";
  if (min && max) {
    out += " in [" + number(*min, kind) + ", " + number(*max, kind) + "]";
  } else if (min) {
    out += " >= " + number(*min, kind);
  } else if (max) {
    out += " <= " + number(*max, kind);
  }
  if (!choices.empty()) {
    out = "one of ";
    for (size_t i = 0; i < choices.size(); ++i) {
      if (i > 0)
        out += ", ";
      out += choices[i];
    }
  }
  return out;
}

field& schema::add(std::string key, value_kind k, std::string description) {
  auto& f = fields_.emplace_back();
  f.key = std::move(key);
  f.kind = k;
  f.description = std::move(description);
  return f;
}

schema& schema::section(std::string key, std::string description) {
  auto& f = add(std::move(key), value_kind::table, description);
  f.section = std::make_shared<schema>(std::move(description));
  return *f.section;
}

schema& schema::entries(std::string key, std::string description) {
  auto& f = add(std::move(key), value_kind::table, description);
  f.entries = std::make_shared<schema>(std::move(description));
  return *f.entries;
}

schema& schema::entries(std::string key, std::string description,
                        entry_resolver resolve) {
  auto& f = add(std::move(key), value_kind::table, description);
  f.entries = std::make_shared<schema>(std::move(description));
  f.resolve_entry = std::move(resolve);
  return *f.entries;
}

const field* schema::find(std::string_view key) const noexcept {
  for (auto& f : fields_)
    if (f.key == key)
      return &f;
  return nullptr;
}

std::vector<std::string> schema::keys() const {
  std::vector<std::string> out;
  out.reserve(fields_.size());
  for (auto& f : fields_)
    out.push_back(f.key);
  return out;
}

const field* schema::lookup(std::string_view path) const noexcept {
  const schema* current = this;
  for (;;) {
    auto dot = path.find('.');
    auto* f = current->find(path.substr(0, dot));
    if (f == nullptr || dot == std::string_view::npos)
      return f;
    path.remove_prefix(dot + 1);
    if (f->section) {
      current = f->section.get();
    } else if (f->entries) {
      // Skip the entry's name.
      auto next = path.find('.');
      if (next == std::string_view::npos)
        return nullptr;
      path.remove_prefix(next + 1);
      current = f->entries.get();
    } else {
      return nullptr;
    }
  }
}

void schema::merge(const schema& other) {
  for (auto& f : other.fields_)
    if (find(f.key) == nullptr)
      fields_.push_back(f);
}

} // namespace troupe::config
