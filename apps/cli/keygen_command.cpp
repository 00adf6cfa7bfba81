// troupe keygen: a Z85 CURVE key pair for bridge endpoints (plain libzmq).

#include <cerrno>
#include <cstring>
#include <iostream>
#include <memory>
#include <string>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands.hpp"
#include "troupe/bridge/zmq/curve_security.hpp"

namespace troupe::cli {

namespace {

struct keygen_options {
  std::string out;
  bool force = false;
};

// Writes `text` to `path` with `mode`; never replaces a file unless `force`.
std::string write_file(const std::string& path, const std::string& text,
                       mode_t mode, bool force) {
  auto flags = O_WRONLY | O_CREAT | O_CLOEXEC | (force ? O_TRUNC : O_EXCL);
  int fd = ::open(path.c_str(), flags, mode);
  if (fd < 0)
    return path + ": " + std::strerror(errno) +
           (errno == EEXIST ? " (use --force to replace it)" : "");
  // An existing file keeps its mode on open: set it.
  bool ok = ::fchmod(fd, mode) == 0 && ::write(fd, text.data(), text.size()) ==
                                         static_cast<ssize_t>(text.size());
  auto err = ok ? std::string{} : path + ": " + std::strerror(errno);
  ::close(fd);
  return err;
}

int keygen(const keygen_options& opts) {
  bridge::curve_keypair keys;
  try {
    keys = bridge::make_curve_keypair();
  } catch (const std::exception& e) {
    std::cerr << "keygen: libzmq cannot make CURVE keys: " << e.what() << '\n';
    return 1;
  }
  if (opts.out.empty()) {
    std::cout << "public  " << keys.public_key << '\n'
              << "secret  " << keys.secret_key << '\n';
    return 0;
  }
  auto key = opts.out + ".key";
  auto pub = opts.out + ".pub";
  auto secret_text = "# troupe CURVE secret key (Z85): keep it private.\n"
                     "# public key: " +
                     keys.public_key + "\n" + keys.secret_key + "\n";
  // Both files or neither: check before writing the first.
  for (auto& path : {key, pub})
    if (!opts.force && ::access(path.c_str(), F_OK) == 0) {
      std::cerr << "keygen: " << path
                << " exists (use --force to replace it)\n";
      return 1;
    }
  for (const auto& err :
       {write_file(key, secret_text, 0600, opts.force),
        write_file(pub, keys.public_key + "\n", 0644, opts.force)})
    if (!err.empty()) {
      std::cerr << "keygen: " << err << '\n';
      return 1;
    }
  std::cout << "wrote " << key << " (secret, mode 0600) and " << pub
            << "\npublic  " << keys.public_key << '\n';
  return 0;
}

} // namespace

void add_keygen_command(CLI::App& app, int& exit_code) {
  auto opts = std::make_shared<keygen_options>();
  auto* cmd = app.add_subcommand(
    "keygen", "Make a CURVE key pair (Z85) for bridge endpoints");
  cmd->add_option("--out", opts->out,
                  "Write PREFIX.key (secret, mode 0600) and PREFIX.pub "
                  "instead of printing the pair");
  cmd->add_flag("--force", opts->force, "Replace existing key files");
  cmd->footer("Use PREFIX.key as curve_secret_key_file and give PREFIX.pub "
              "to peers (curve_server_key_file, or its text in "
              "curve_allowed_clients). See docs/bridge.md.\n");
  cmd->callback([opts, &exit_code] { exit_code = keygen(*opts); });
}

} // namespace troupe::cli
