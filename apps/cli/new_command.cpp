// troupe new service NAME [DIR]: writes a project of one's own, built on
// the installed troupe (see new_project.cpp for what it contains).

#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <system_error>

#include "commands.hpp"
#include "new_project.hpp"
#include "troupe/version.hpp"

namespace troupe::cli {

namespace {

namespace fs = std::filesystem;

struct new_options {
  std::string name;
  std::string dir;
};

// The prefix troupe is installed in (PREFIX/bin/troupe beside
// PREFIX/include/troupe), for the README's CMAKE_PREFIX_PATH; empty for
// /usr and /usr/local, which CMake searches anyway, and for a troupe run
// from its build tree.
std::string own_prefix() {
  std::error_code ec;
  auto exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec)
    return {};
  auto prefix = exe.parent_path().parent_path();
  if (prefix == "/usr" || prefix == "/usr/local" ||
      !fs::exists(prefix / "include" / "troupe" / "version.hpp", ec))
    return {};
  return prefix.string();
}

int new_service(const new_options& opts) {
  if (!valid_service_name(opts.name)) {
    std::cerr << "troupe new: '" << opts.name
              << "' cannot name a service type: use snake_case (a-z, 0-9, "
                 "_; starting with a letter; at most 24 characters; not a C++ "
                 "keyword)\n";
    return 2;
  }
  fs::path dir = opts.dir.empty() ? fs::path{opts.name} : fs::path{opts.dir};
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_empty(dir, ec)) {
    std::cerr << "troupe new: " << dir.string()
              << " exists and is not empty; nothing written\n";
    return 1;
  }
  for (auto& [rel, text] :
       service_project(opts.name, TROUPE_VERSION, own_prefix())) {
    auto path = dir / rel;
    fs::create_directories(path.parent_path(), ec);
    std::ofstream out{path, std::ios::binary};
    out << text;
    out.close();
    if (!out) {
      std::cerr << "troupe new: cannot write " << path.string() << '\n';
      return 1;
    }
    std::cout << "wrote " << path.string() << '\n';
  }
  std::cout << "\nnext (see " << (dir / "README.md").string() << "):\n"
            << "  cd " << dir.string() << "\n"
            << "  cmake -S . -B build"
            << (own_prefix().empty() ? ""
                                     : " -DCMAKE_PREFIX_PATH=" + own_prefix())
            << " && cmake --build build\n"
            << "  ctest --test-dir build && troupe run " << opts.name
            << ".toml\n";
  return 0;
}

} // namespace

void add_new_command(CLI::App& app, int& exit_code) {
  auto opts = std::make_shared<new_options>();
  auto* cmd = app.add_subcommand(
    "new", "Start a project of your own (troupe new service NAME [DIR])");
  cmd->require_subcommand(1);
  auto* svc = cmd->add_subcommand(
    "service", "A service type with its test and an app file that runs it");
  svc->add_option("name", opts->name, "The service type's name (snake_case)")
    ->required();
  svc->add_option("dir", opts->dir, "Where to write it (default: ./NAME)");
  svc->footer("Writes CMakeLists.txt (find_package(troupe)), the service, "
              "its deterministic test, the plugin entry point, NAME.toml and "
              "a README with the commands to build, test and run it. Never "
              "writes into a directory that is not empty.\n");
  svc->callback([opts, &exit_code] { exit_code = new_service(*opts); });
}

} // namespace troupe::cli
