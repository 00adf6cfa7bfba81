#include "troupe/config/value.hpp"

#include "troupe/config/duration.hpp"
#include "troupe/config/enum_names.hpp"

#include <cstdio>

namespace troupe::config {

std::string_view to_string(value_kind k) noexcept {
  constexpr enum_names<value_kind, 8> names{{{
    {value_kind::none, "none"},
    {value_kind::boolean, "boolean"},
    {value_kind::integer, "integer"},
    {value_kind::floating, "float"},
    {value_kind::string, "string"},
    {value_kind::duration, "duration"},
    {value_kind::list, "list"},
    {value_kind::table, "table"},
  }}};
  return names.name(k);
}

namespace {

std::string quote(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out += '"';
  for (char c : s) {
    switch (c) {
    case '"':
      out += "\\\"";
      break;
    case '\\':
      out += "\\\\";
      break;
    case '\n':
      out += "\\n";
      break;
    case '\t':
      out += "\\t";
      break;
    case '\r':
      out += "\\r";
      break;
    default:
      // TOML admits no raw control character in a string, DEL included.
      if (auto u = static_cast<unsigned char>(c); u < 0x20 || u == 0x7f) {
        char buf[8];
        std::snprintf(buf, sizeof(buf), "\\u%04x", static_cast<unsigned>(u));
        out += buf;
      } else {
        out += c;
      }
    }
  }
  out += '"';
  return out;
}

bool is_bare_key(std::string_view key) {
  if (key.empty())
    return false;
  for (char c : key)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9') || c == '_' || c == '-'))
      return false;
  return true;
}

} // namespace

std::string toml_key(std::string_view key) {
  return is_bare_key(key) ? std::string{key} : quote(key);
}

std::string to_toml(const value& x) {
  struct visitor {
    std::string operator()(std::monostate) const { return "\"\""; }
    std::string operator()(bool b) const { return b ? "true" : "false"; }
    std::string operator()(int64_t i) const { return std::to_string(i); }
    std::string operator()(double d) const {
      char buf[32];
      std::snprintf(buf, sizeof(buf), "%.17g", d);
      std::string s = buf;
      if (s.find_first_of(".eEn") == std::string::npos)
        s += ".0";
      return s;
    }
    std::string operator()(const std::string& s) const { return quote(s); }
    std::string operator()(duration d) const {
      return quote(format_duration(d));
    }
    std::string operator()(const list& xs) const {
      std::string out = "[";
      for (size_t i = 0; i < xs.size(); ++i) {
        if (i > 0)
          out += ", ";
        out += to_toml(xs[i]);
      }
      out += ']';
      return out;
    }
    std::string operator()(const table& t) const {
      std::string out = "{";
      bool first = true;
      for (auto& [k, v] : t) {
        out += first ? " " : ", ";
        first = false;
        out += is_bare_key(k) ? k : quote(k);
        out += " = ";
        out += to_toml(v);
      }
      out += first ? "}" : " }";
      return out;
    }
  };
  return std::visit(visitor{}, x.data());
}

std::string join_path(std::string_view prefix, std::string_view key) {
  std::string out;
  out.reserve(prefix.size() + key.size() + 1);
  out += prefix;
  if (!prefix.empty())
    out += '.';
  out += key;
  return out;
}

const value* find(const table& root, std::string_view path) noexcept {
  const table* current = &root;
  for (;;) {
    auto dot = path.find('.');
    auto key = path.substr(0, dot);
    auto i = current->find(key);
    if (i == current->end())
      return nullptr;
    if (dot == std::string_view::npos)
      return &i->second;
    current = i->second.get_if<table>();
    if (current == nullptr)
      return nullptr;
    path.remove_prefix(dot + 1);
  }
}

void put(table& root, std::string_view path, value x) {
  table* current = &root;
  for (;;) {
    auto dot = path.find('.');
    std::string key{path.substr(0, dot)};
    if (dot == std::string_view::npos) {
      (*current)[key] = std::move(x);
      return;
    }
    auto& slot = (*current)[key];
    if (slot.get_if<table>() == nullptr)
      slot = table{};
    current = slot.get_if<table>();
    path.remove_prefix(dot + 1);
  }
}

} // namespace troupe::config
