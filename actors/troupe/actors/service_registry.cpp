#include "troupe/actors/service_registry.hpp"

#include <dlfcn.h>

#include <fstream>
#include <iterator>
#include <optional>

#include <caf/expected.hpp>

#include "troupe/actors/errc.hpp"
#include "troupe/config/diagnostic.hpp"

namespace troupe {

namespace {

// The ABI tag TROUPE_PLUGIN wrote into the library at `path`; an empty
// string when the file has none; nullopt when the file cannot be read (a
// bare name the dynamic loader searches for: checked after loading).
std::optional<std::string> read_plugin_abi(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  if (!in)
    return std::nullopt;
  std::string bytes{std::istreambuf_iterator<char>{in},
                    std::istreambuf_iterator<char>{}};
  std::string_view marker{TROUPE_PLUGIN_ABI_MARKER};
  auto at = bytes.find(marker);
  if (at == std::string::npos)
    return std::string{};
  auto begin = at + marker.size();
  auto end = bytes.find('\0', begin);
  if (end == std::string::npos || end - begin > 200)
    return std::string{};
  return bytes.substr(begin, end - begin);
}

// Why a plugin tagged `tag` may not load here; empty when it may.
std::string abi_mismatch(const std::string& tag) {
  if (tag.empty())
    return "it has no troupe ABI tag (not a troupe plugin, or built against "
           "a troupe older than " TROUPE_VERSION
           "); rebuild it with troupe_add_plugin and TROUPE_PLUGIN against "
           "this troupe (" TROUPE_PLUGIN_ABI ")";
  if (tag != TROUPE_PLUGIN_ABI)
    return "it was built against '" + tag + "' but this is '" +
           TROUPE_PLUGIN_ABI + "'; rebuild it against this troupe";
  return {};
}

} // namespace

service_registry& service_registry::global() {
  static service_registry instance;
  return instance;
}

caf::error service_registry::add(service_type_info info) {
  if (info.name.empty())
    return make_error(errc::invalid_settings, "a service type needs a name");
  if (!info.spawn)
    return make_error(errc::invalid_settings,
                      "service type '" + info.name + "' has no factory");
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = types_.find(info.name);
  if (i != types_.end())
    return make_error(errc::duplicate_name, "service type '" + info.name +
                                              "' is already registered (by " +
                                              i->second.origin + ")");
  auto name = info.name;
  types_.emplace(std::move(name), std::move(info));
  return {};
}

caf::expected<service_type_info>
service_registry::lookup(std::string_view name) const {
  std::lock_guard<std::mutex> guard{mtx_};
  if (auto i = types_.find(name); i != types_.end())
    return i->second;
  std::vector<std::string> known;
  std::string list;
  for (auto& [key, info] : types_) {
    known.push_back(key);
    list += list.empty() ? key : ", " + key;
  }
  return make_error(errc::unknown_type,
                    "unknown service type '" + std::string{name} + "'" +
                      config::did_you_mean(name, known) +
                      "; known types: " + (list.empty() ? "none" : list));
}

bool service_registry::contains(std::string_view name) const {
  std::lock_guard<std::mutex> guard{mtx_};
  return types_.find(name) != types_.end();
}

std::vector<std::string> service_registry::names() const {
  std::lock_guard<std::mutex> guard{mtx_};
  std::vector<std::string> out;
  for (auto& kvp : types_)
    out.push_back(kvp.first);
  return out;
}

config::type_catalog service_registry::catalog() const {
  std::lock_guard<std::mutex> guard{mtx_};
  config::type_catalog out;
  for (auto& [name, info] : types_)
    out.emplace(name, info.schema);
  return out;
}

std::vector<service_type_info> service_registry::types() const {
  std::lock_guard<std::mutex> guard{mtx_};
  std::vector<service_type_info> out;
  for (auto& kvp : types_)
    out.push_back(kvp.second);
  return out;
}

caf::error service_registry::load_plugin(const std::string& path) {
  auto fail = [&path](const std::string& why) {
    return make_error(errc::plugin_failed,
                      "plugin '" + path + "' not loaded: " + why);
  };
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (plugins_.count(path) > 0)
      return {};
  }
  // A plugin for another troupe or ABI is refused before dlopen runs its
  // static initializers (or pulls in another version's libraries).
  if (auto tag = read_plugin_abi(path)) {
    if (auto why = abi_mismatch(*tag); !why.empty())
      return fail(why);
  }
  // RTLD_NOW: a missing symbol is reported here, not at the first call.
  // The library stays loaded for the life of the process (its types'
  // factories point into it).
  void* lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) {
    const char* why = dlerror();
    return fail(why != nullptr ? why : "dlopen failed");
  }
  auto* tag = dlsym(lib, "troupe_plugin_abi");
  std::string_view marker{TROUPE_PLUGIN_ABI_MARKER};
  auto tagged = tag != nullptr ? std::string{*static_cast<const char**>(tag)}
                               : std::string{};
  if (auto why =
        abi_mismatch(tagged.rfind(marker, 0) == 0 ? tagged.substr(marker.size())
                                                  : std::string{});
      !why.empty())
    return fail(why);
  auto* sym = dlsym(lib, "troupe_register_plugin");
  if (sym == nullptr)
    return fail("no entry point 'troupe_register_plugin' (define one with "
                "TROUPE_PLUGIN)");
  // Register into a scratch registry first so a plugin that clashes with a
  // known type changes nothing.
  service_registry scratch;
  try {
    reinterpret_cast<plugin_entry>(sym)(scratch);
  } catch (const std::exception& e) {
    return fail(std::string{"its entry point threw: "} + e.what());
  } catch (...) {
    return fail("its entry point threw");
  }
  auto added = scratch.types();
  if (added.empty())
    return fail("it registered no service types");
  for (auto& info : added)
    if (contains(info.name))
      return fail("service type '" + info.name + "' is already registered");
  for (auto& info : added) {
    info.origin = path;
    if (auto err = add(std::move(info)))
      return fail(describe(err));
  }
  std::lock_guard<std::mutex> guard{mtx_};
  plugins_.insert(path);
  return {};
}

} // namespace troupe
