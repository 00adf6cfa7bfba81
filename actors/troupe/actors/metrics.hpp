#pragma once

// Prometheus-style metrics of one service, and the writer of the text
// exposition format 0.0.4. No CAF here: the HTTP thread includes this.

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace troupe {

/// Label names and values of one series, e.g. `{{"kind", "resize"}}`.
/// Order does not matter: the registry sorts them by name.
using metric_labels = std::vector<std::pair<std::string, std::string>>;

/// The kind of a metric family, as written after `# TYPE`.
enum class metric_type : uint8_t {
  counter,
  gauge,
  histogram,
};

/// Returns the exposition name of `x` ("counter", "gauge", "histogram").
std::string_view to_string(metric_type x) noexcept;

/// Thrown by `metric_registry` when a registration breaks a rule: an invalid
/// metric or label name, a name already registered with another type or
/// help, unsorted histogram buckets. Registration happens once, at start-up
/// (a hook), where the host turns the exception into a hook failure with its
/// text — so a typo fails loudly instead of silently dropping samples.
class metric_error : public std::invalid_argument {
public:
  using std::invalid_argument::invalid_argument;
};

/// Returns whether `name` is a valid metric name: `[a-zA-Z_:][a-zA-Z0-9_:]*`.
bool valid_metric_name(std::string_view name) noexcept;

/// Returns whether `name` is a valid label name: `[a-zA-Z_][a-zA-Z0-9_]*`,
/// not starting with `__` (reserved by Prometheus).
bool valid_label_name(std::string_view name) noexcept;

/// A monotonically increasing value. Lock-free; never allocates.
class counter {
public:
  /// Adds `n` (default 1); negative or NaN increments are ignored.
  void inc(double n = 1) noexcept;

  /// Returns the current value.
  double value() const noexcept {
    return value_.load(std::memory_order_relaxed);
  }

private:
  std::atomic<double> value_{0};
};

/// A value that goes up and down. Lock-free; never allocates.
class gauge {
public:
  /// Sets the value to `x`.
  void set(double x) noexcept { value_.store(x, std::memory_order_relaxed); }

  /// Adds `n` (default 1).
  void inc(double n = 1) noexcept;

  /// Subtracts `n` (default 1).
  void dec(double n = 1) noexcept { inc(-n); }

  /// Returns the current value.
  double value() const noexcept {
    return value_.load(std::memory_order_relaxed);
  }

private:
  std::atomic<double> value_{0};
};

/// Observations counted in fixed buckets (upper bounds given at creation),
/// plus their sum and count. Lock-free; never allocates after creation.
class histogram {
public:
  /// Creates a histogram with the finite, strictly increasing upper bounds
  /// `bounds` (the `+Inf` bucket is implicit). Throws `metric_error`
  /// otherwise.
  explicit histogram(std::vector<double> bounds);

  /// Counts `x` in the first bucket whose bound is >= `x`.
  void observe(double x) noexcept;

  /// Returns the finite upper bounds.
  const std::vector<double>& bounds() const noexcept { return bounds_; }

  /// Returns the cumulative count per bucket, one per bound plus `+Inf`.
  std::vector<uint64_t> cumulative_counts() const;

  /// Returns the sum of all observations.
  double sum() const noexcept { return sum_.load(std::memory_order_relaxed); }

  /// Returns the number of observations.
  uint64_t count() const noexcept;

private:
  std::vector<double> bounds_;
  // Per-bucket (not cumulative) counts: one increment per observation.
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;
  std::atomic<double> sum_{0};
};

/// Writes Prometheus text format 0.0.4. Samples are grouped by family, so
/// several registries (one per service) and the framework's own metrics can
/// go through one writer and still give each family a single `# HELP` /
/// `# TYPE` header: the first declaration of a name wins; a later one with
/// another type is rejected (its samples are skipped and counted in
/// `conflicts()`). Never throws on bad input: a sample with an invalid name
/// is skipped and counted too.
///
/// ```
/// troupe::exposition_writer w;
/// w.family("troupe_service_restarts_total", "Restarts", metric_type::counter);
/// w.sample({{"service", "db"}}, 2);
/// for (auto& [name, reg] : registries) {
///   w.extra_labels({{"service", name}});
///   reg->write(w);
/// }
/// std::string body = w.str();
/// ```
class exposition_writer {
public:
  /// Sets labels written first on every following sample (e.g.
  /// `service="db"`); replaces the previous set.
  void extra_labels(metric_labels labels);

  /// Starts (or continues) the family `name`. Returns false when `name` is
  /// invalid or already declared with another type; following samples are
  /// then skipped.
  bool family(std::string_view name, std::string_view help, metric_type type);

  /// Adds a sample of the current family: `name{labels} value`.
  void sample(const metric_labels& labels, double value);

  /// Adds a sample named family name + `suffix` (`_bucket`, `_sum`,
  /// `_count` for histograms).
  void sample(std::string_view suffix, const metric_labels& labels,
              double value);

  /// While on, samples of one series (same name and labels, extra labels
  /// included) add up to one line instead of one line each: e.g. the
  /// registries of a type's services written with only a `type` label.
  /// Summed series follow the family's other samples.
  void summing(bool on);

  /// Returns the text: every family with its header, then its samples.
  std::string str() const;

  /// Returns how many families or samples were rejected.
  uint64_t conflicts() const noexcept { return conflicts_; }

private:
  struct family_text {
    std::string help;
    metric_type type;
    std::string samples;
    // Summed series, in the order they first appeared.
    std::unordered_map<std::string, size_t> sum_index;
    std::vector<std::pair<std::string, double>> sums;
  };

  metric_labels extra_;
  std::vector<std::string> order_;
  std::map<std::string, family_text, std::less<>> families_;
  family_text* current_ = nullptr;
  std::string current_name_;
  uint64_t conflicts_ = 0;
  bool summing_ = false;
};

/// Formats `x` as in the exposition format: shortest round-trip decimal,
/// `+Inf`, `-Inf`, `NaN`.
std::string format_metric_value(double x);

/// The metrics of one service. Registration takes a mutex and may allocate;
/// the returned handles are lock-free and stay valid as long as the
/// registry lives. Reading (`write`, `render`) is safe from any thread.
///
/// ```
/// auto& jobs = metrics().counter("jobs_total", "Jobs done", {{"kind", "x"}});
/// jobs.inc();
/// ```
class metric_registry {
public:
  metric_registry();
  ~metric_registry();

  metric_registry(const metric_registry&) = delete;
  metric_registry& operator=(const metric_registry&) = delete;

  /// Returns the counter `name` with `labels`, creating it on first use.
  /// Throws `metric_error` on an invalid name or label, or when `name` is
  /// already registered with another type or help.
  troupe::counter& counter(const std::string& name, const std::string& help,
                           metric_labels labels = {});

  /// Returns the gauge `name` with `labels` (see `counter`).
  troupe::gauge& gauge(const std::string& name, const std::string& help,
                       metric_labels labels = {});

  /// Returns the histogram `name` with `labels` and the bucket upper bounds
  /// `bounds` (see `counter`); a series that exists with other bounds is an
  /// error.
  troupe::histogram& histogram(const std::string& name, const std::string& help,
                               std::vector<double> bounds,
                               metric_labels labels = {});

  /// Returns each series of the counter or gauge `name` with its value
  /// (none for an unknown name or a histogram).
  std::vector<std::pair<metric_labels, double>>
  values(const std::string& name) const;

  /// Figures a part keeps itself (counters a thread updates as atomics,
  /// say) and reports at every `write`, as Prometheus clients' collectors
  /// do: `fn` declares its families on the writer and writes their samples.
  /// It runs under the registry's lock on whichever thread writes (the
  /// control plane's): it may read only what is safe to read from there.
  /// Replaces the collector registered under `key`, if any.
  void add_collector(std::string key,
                     std::function<void(exposition_writer&)> fn);

  /// Removes the collector `key` (nothing if there is none). Once this
  /// returns, no `write` runs it any more: remove it before what it reads
  /// goes away.
  void remove_collector(const std::string& key);

  /// Writes every family, in registration order, then what each collector
  /// writes, to `w`.
  void write(exposition_writer& w) const;

  /// Returns the exposition text, with `extra` on every sample.
  std::string render(metric_labels extra = {}) const;

private:
  struct family;

  family& find_or_add(const std::string& name, const std::string& help,
                      metric_type type);

  // `write` without the collectors; the lock is held.
  void write_families(exposition_writer& w) const;

  mutable std::mutex mtx_;
  std::vector<std::unique_ptr<family>> families_;
  std::vector<std::pair<std::string, std::function<void(exposition_writer&)>>>
    collectors_;
};

/// Heap bytes this process holds from malloc: glibc's `mallinfo2`
/// allocated chunks plus mmapped blocks, over all arenas (in an ASan build,
/// the sanitizer's count of live bytes). Freed memory malloc keeps for
/// reuse is not counted; `process_rss_bytes` sees it.
uint64_t process_heap_bytes() noexcept;

/// Resident set size of this process in bytes (`/proc/self/statm`); 0 when
/// it cannot be read.
uint64_t process_rss_bytes() noexcept;

} // namespace troupe
