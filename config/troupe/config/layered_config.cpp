#include "troupe/config/layered_config.hpp"

#include <toml++/toml.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

extern char** environ;

namespace troupe::config {

namespace {

std::string position(std::string_view file, const toml::source_position& p) {
  std::string out{file};
  out += ':';
  out += std::to_string(p.line);
  out += ':';
  out += std::to_string(p.column);
  return out;
}

// Converts toml++ nodes into config values, recording the position of every
// key and value. Dates and times have no place in troupe's config model.
struct toml_reader {
  std::string_view file;
  std::map<std::string, origin, std::less<>>& origins;
  std::map<std::string, std::string, std::less<>>& key_positions;
  diagnostics& errors;

  origin at(const toml::node& n) const {
    return origin{origin_kind::file, position(file, n.source().begin)};
  }

  value convert(const toml::node& n, const std::string& path) {
    origins[path] = at(n);
    switch (n.type()) {
    case toml::node_type::table: {
      table out;
      for (auto&& [k, v] : *n.as_table()) {
        auto child = join_path(path, k.str());
        key_positions[child] = position(file, k.source().begin);
        out[std::string{k.str()}] = convert(v, child);
      }
      return out;
    }
    case toml::node_type::array: {
      list out;
      size_t i = 0;
      for (auto&& v : *n.as_array())
        out.push_back(convert(v, path + '[' + std::to_string(i++) + ']'));
      return out;
    }
    case toml::node_type::string:
      return std::string{n.as_string()->get()};
    case toml::node_type::integer:
      return n.as_integer()->get();
    case toml::node_type::floating_point:
      return n.as_floating_point()->get();
    case toml::node_type::boolean:
      return n.as_boolean()->get();
    default:
      errors.push_back({at(n).where, path,
                        "dates and times are not supported; write a string "
                        "or a duration like \"5s\""});
      return {};
    }
  }
};

} // namespace

diagnostics layered_config::parse_toml(std::string_view text,
                                       std::string_view file_name) {
  file_ = std::string{file_name};
  diagnostics errors;
  toml::table doc;
  try {
    doc = toml::parse(text, file_name);
  } catch (const toml::parse_error& e) {
    errors.push_back({position(file_name, e.source().begin),
                      {},
                      std::string{e.description()}});
    return errors;
  } catch (const std::exception& e) {
    errors.push_back({std::string{file_name}, {}, e.what()});
    return errors;
  }
  toml_reader reader{file_name, origins_, key_positions_, errors};
  for (auto&& [k, v] : doc) {
    std::string key{k.str()};
    erase_origins_below(key);
    key_positions_[key] = position(file_name, k.source().begin);
    values_[key] = reader.convert(v, key);
  }
  return errors;
}

diagnostics layered_config::load_file(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  if (!in)
    return {
      {path, {}, "cannot read file: " + std::string{std::strerror(errno)}}};
  // Checked before reading: parsing and validating a huge file would take
  // minutes and gigabytes.
  constexpr uintmax_t mib = uintmax_t{1024} * 1024;
  std::error_code ec;
  auto size = std::filesystem::file_size(path, ec);
  if (!ec && size > max_app_file_bytes)
    return {{path,
             {},
             "file is " + std::to_string(size / mib) +
               " MiB; an app file may be at most " +
               std::to_string(max_app_file_bytes / mib) + " MiB"}};
  std::ostringstream buf;
  buf << in.rdbuf();
  return parse_toml(buf.str(), path);
}

void layered_config::erase_origins_below(std::string_view path) {
  std::string prefix{path};
  auto i = origins_.lower_bound(prefix);
  while (i != origins_.end() &&
         i->first.compare(0, prefix.size(), prefix) == 0) {
    auto rest = std::string_view{i->first}.substr(prefix.size());
    if (rest.empty() || rest.front() == '.' || rest.front() == '[')
      i = origins_.erase(i);
    else
      ++i;
  }
}

void layered_config::set_text(const std::string& path, std::string text,
                              origin from) {
  erase_origins_below(path);
  put(values_, path, std::move(text));
  origins_[path] = std::move(from);
}

diagnostics layered_config::apply_env(const environment& env) {
  static constexpr std::string_view prefix = "TROUPE_";
  diagnostics errors;
  for (auto& [name, text] : env) {
    if (name.compare(0, prefix.size(), prefix) != 0)
      continue;
    auto rest = std::string_view{name}.substr(prefix.size());
    // Only TROUPE_SECTION__KEY names are config; TROUPE_PROJECT and friends
    // are not.
    if (rest.find("__") == std::string_view::npos)
      continue;
    std::string path;
    bool bad = false;
    while (!rest.empty()) {
      auto sep = rest.find("__");
      auto part = rest.substr(0, sep);
      if (part.empty()) {
        bad = true;
        break;
      }
      if (!path.empty())
        path += '.';
      for (char c : part)
        path += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (sep == std::string_view::npos)
        break;
      rest.remove_prefix(sep + 2);
      if (rest.empty())
        bad = true;
    }
    if (bad) {
      errors.push_back({name,
                        {},
                        "malformed variable name: expected "
                        "TROUPE_<SECTION>__<KEY> with non-empty parts"});
      continue;
    }
    set_text(path, text, origin{origin_kind::env, name});
  }
  return errors;
}

diagnostics layered_config::apply_set(std::string_view assignment) {
  auto flag = "--set " + std::string{assignment};
  auto eq = assignment.find('=');
  if (eq == std::string_view::npos)
    return {{flag, {}, "expected --set key.path=value"}};
  auto path = assignment.substr(0, eq);
  // Each dotted part must be a plain key.
  size_t start = 0;
  for (;;) {
    auto dot = path.find('.', start);
    auto part = path.substr(start, dot - start);
    auto trimmed_bad =
      part.empty() || part.front() == ' ' || part.back() == ' ';
    if (trimmed_bad)
      return {{flag, std::string{path},
               "malformed key path: empty part or surrounding spaces"}};
    if (dot == std::string_view::npos)
      break;
    start = dot + 1;
  }
  set_text(std::string{path}, std::string{assignment.substr(eq + 1)},
           origin{origin_kind::cli, flag});
  return {};
}

const origin* layered_config::origin_of(std::string_view path) const noexcept {
  if (auto i = origins_.find(path); i != origins_.end())
    return &i->second;
  // Every value a layer set has its origin recorded; one without is a
  // default that validation filled in.
  static const origin defaults{origin_kind::defaults, {}};
  auto* v = find(values_, path);
  if (v == nullptr)
    return nullptr;
  auto* t = v->get_if<table>();
  return t == nullptr || t->empty() ? &defaults : nullptr;
}

std::string layered_config::where(std::string_view path) const {
  std::string p{path};
  for (;;) {
    if (auto* o = origin_of(p);
        o != nullptr && o->kind != origin_kind::defaults)
      return o->where;
    if (auto i = key_positions_.find(p); i != key_positions_.end())
      return i->second;
    auto cut = p.find_last_of(".[");
    if (cut == std::string::npos)
      return file_;
    p.resize(cut);
  }
}

layered_config::environment layered_config::process_environment() {
  environment out;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view entry{*e};
    auto eq = entry.find('=');
    if (eq == std::string_view::npos)
      continue;
    out.emplace_back(std::string{entry.substr(0, eq)},
                     std::string{entry.substr(eq + 1)});
  }
  return out;
}

std::string resolve_project_path(const std::string& file,
                                 const layered_config::environment& env) {
  namespace fs = std::filesystem;
  for (auto& [name, project] : env) {
    if (name != "TROUPE_PROJECT" || project.empty())
      continue;
    fs::path p{file};
    std::error_code ec;
    if (p.is_relative()) {
      auto literal = fs::path{"projects"} / project / p;
      if (fs::exists(literal, ec))
        return literal.string();
    }
    auto candidate = p.parent_path() / "projects" / project / p.filename();
    if (fs::exists(candidate, ec))
      return candidate.string();
  }
  return file;
}

} // namespace troupe::config
