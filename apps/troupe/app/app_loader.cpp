#include "troupe/app/app_loader.hpp"

#include <filesystem>

#include "troupe/actors/errc.hpp"

namespace troupe::app {

std::string plugin_path(const std::string& app_file, const std::string& path) {
  std::filesystem::path p{path};
  if (p.is_absolute() || path.find('/') == std::string::npos ||
      app_file.empty())
    return path;
  return (std::filesystem::path{app_file}.parent_path() / p)
    .lexically_normal()
    .string();
}

config::app_load_result load_app(const config::app_sources& src,
                                 service_registry& reg) {
  auto first = config::load_app(src, reg.catalog());
  if (first.config.plugins.empty())
    return first;
  // The first pass knows no plugin types yet; it only tells which plugins
  // to load. Its errors about unknown types may go away in the second.
  config::diagnostics plugin_errors;
  const auto& file = first.config.layers.file();
  for (auto& entry : first.config.plugins) {
    auto path = plugin_path(file, entry);
    if (auto err = reg.load_plugin(path))
      plugin_errors.push_back({first.config.layers.where("app.plugins"),
                               "app.plugins", describe(err)});
  }
  auto second = config::load_app(src, reg.catalog());
  second.errors.insert(second.errors.begin(), plugin_errors.begin(),
                       plugin_errors.end());
  return second;
}

} // namespace troupe::app
