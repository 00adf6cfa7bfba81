#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace troupe::bench {

/// Repeated measurements of one quantity.
struct samples {
  std::vector<double> values;
  double median() const;
  double min() const;
  double max() const;
};

/// Messages sent but never received, per side.
struct loss_count {
  uint64_t troupe = 0;
  uint64_t raw = 0;
};

/// A further figure of a scenario, per side, beside its main one (e.g. a
/// process's peak RSS).
struct side_figure {
  /// What it is, with its unit, e.g. "sender peak RSS MB".
  std::string name;
  samples troupe;
  samples raw;
};

/// One scenario's result: troupe beside its raw baseline.
struct result {
  std::string name;
  std::string unit;
  samples troupe;
  samples raw;
  bool higher_is_better = true;
  /// What one measurement does, e.g. "2000000 messages" (for the JSON).
  std::string workload;
  /// Payload bytes per message of a msg/s scenario; when set, the table and
  /// the JSON also give payload MB/s ("troupe_mb_s", "raw_mb_s").
  uint64_t payload_bytes = 0;
  /// Messages lost per side, summed over every run of the scenario (warm-up
  /// included); set by scenarios that count loss, written to the JSON as
  /// "lost": {"troupe": N, "raw": N}.
  std::optional<loss_count> lost;
  /// Further figures, measured in the same repetitions; the table gives
  /// their medians, the JSON ("extras") medians, minima and maxima.
  std::vector<side_figure> extras;
  /// troupe / raw on the medians.
  double ratio() const;
};

/// How hard to run.
struct run_options {
  bool quick = false;
  int warmup = 1;
  int repetitions = 5;
  /// CAF scheduler worker threads; 0 keeps CAF's default (max(cores, 4)).
  int threads = 0;
  /// The troupe executable for echo.forward; empty: found beside this one.
  std::string troupe_path;
  /// The app file echo.forward runs.
  std::string echo_app;
};

/// Where the numbers were measured.
struct machine_info {
  std::string host;
  unsigned cores = 0;
  std::string kernel;
  std::string arch;
  std::string compiler;
  std::string build_type;
  std::string caf_version;
  /// UTC, ISO 8601.
  std::string date;
};

/// Describes this machine and build; `caf_version` is left to the caller
/// (this file does not include CAF).
machine_info describe_machine();

/// One line for the top of the table, e.g.
/// "host (2 cores, Linux 6.1.0, g++ 12.2.0, Release, CAF 0.17.6)".
std::string summary(const machine_info& m);

/// Prints the results as a fixed-width table to stdout.
void print_table(const std::vector<result>& results);

/// Writes the results as JSON:
/// {"machine": {...}, "scenarios": [{"name", "unit", "troupe", "raw",
///  "ratio", "higher_is_better", ...}]}. `troupe` and `raw` are medians; each
/// scenario also carries `troupe_min`, `troupe_max`, `raw_min`, `raw_max`,
/// `repetitions` and `workload`, and where set `payload_bytes`,
/// `troupe_mb_s`, `raw_mb_s`, `lost` and `extras`. Throws `std::runtime_error`
/// when `path` cannot be written.
void write_json(const std::vector<result>& results, const machine_info& m,
                const std::string& path);

/// Runs `measure_raw` and `measure_troupe` alternately (warm-up first), so
/// that noise on a shared machine hits both alike.
void alternate(const run_options& opts, result& r,
               const std::function<double()>& measure_raw,
               const std::function<double()>& measure_troupe);

/// Returns the result `name` in `unit` for `workload`, measured by
/// `alternate`.
result compare(const run_options& opts, std::string name, std::string unit,
               std::string workload, const std::function<double()>& measure_raw,
               const std::function<double()>& measure_troupe,
               bool higher_is_better = true);

} // namespace troupe::bench
