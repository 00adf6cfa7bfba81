#pragma once

// `troupe systemd`: a systemd service unit that runs one app file.

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace troupe::app {

/// Extra time systemd grants beyond the app's own drain deadline
/// (`app.shutdown_timeout`) before it sends SIGKILL: process exit, logging.
constexpr std::chrono::seconds systemd_stop_margin{5};

/// What goes into the unit.
struct systemd_unit_options {
  /// `app.name`, for the description and syslog identifier.
  std::string app_name;
  /// Absolute path of the troupe binary.
  std::string exec;
  /// Absolute path of the app file.
  std::string app_file;
  /// `--set key=value` overrides, passed on to `troupe run`.
  std::vector<std::string> sets;
  /// The service's working directory (absolute).
  std::string working_directory;
  /// `app.shutdown_timeout`: TimeoutStopSec is this plus systemd_stop_margin.
  std::chrono::nanoseconds shutdown_timeout{std::chrono::seconds{10}};
  /// A user unit (`systemctl --user`): WantedBy=default.target and no
  /// network-online dependency, which the user manager does not have.
  bool user = false;
  /// Environment= entries (config overrides like TROUPE_APP__LOG_LEVEL).
  std::vector<std::pair<std::string, std::string>> environment;
  /// WatchdogSec=: the app pings systemd every half of it while its root
  /// supervisor is healthy; zero leaves the watchdog off.
  std::chrono::seconds watchdog{30};
  /// Absolute folders the app writes to under ProtectSystem=strict (the
  /// folder of `app.log_file`, of `ipc://` endpoints): ReadWritePaths=.
  std::vector<std::string> writable_paths;
  /// PrivateTmp=yes, unless an `ipc://` endpoint lives in /tmp or /var/tmp,
  /// where a private /tmp would hide it from its peers.
  bool private_tmp = true;
};

/// Renders the unit file:
///
/// ```
/// [Unit]
/// Description=troupe app demo
/// ...
/// [Service]
/// Type=notify
/// NotifyAccess=main
/// WatchdogSec=30
/// ExecStart=/usr/bin/troupe run /srv/demo/demo.toml
/// ExecReload=/bin/kill -HUP $MAINPID
/// KillSignal=SIGTERM
/// TimeoutStopSec=15
/// Restart=on-failure
/// NoNewPrivileges=yes
/// ProtectSystem=strict
/// ...
/// ```
std::string render_systemd_unit(const systemd_unit_options& opts);

/// The unit's file name: `troupe-NAME.service`, with characters a unit name
/// cannot hold replaced by '-'.
std::string systemd_unit_name(std::string_view app_name);

/// Returns the folders the app must write to, from its config: the folder of
/// `log_file` (relative to `working_directory`) and of every `ipc://PATH`
/// string in `strings` (endpoint addresses). Sorted, without duplicates.
std::vector<std::string>
systemd_writable_paths(const std::string& working_directory,
                       const std::string& log_file,
                       const std::vector<std::string>& strings);

/// Quotes one ExecStart= argument for systemd: `%` becomes `%%` (specifiers),
/// `$` becomes `$$` (variable expansion), and an argument with blanks,
/// quotes or backslashes is double-quoted with C escapes.
std::string systemd_quote_arg(std::string_view arg);

} // namespace troupe::app
