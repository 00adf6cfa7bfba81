#include "troupe/actors/metrics.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>

#include <malloc.h>
#include <unistd.h>

#include "troupe/config/enum_names.hpp"

namespace troupe {

namespace {

bool name_char(char c, bool first, bool colon) {
  bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
  bool digit = c >= '0' && c <= '9';
  return alpha || (colon && c == ':') || (!first && digit);
}

void add(std::atomic<double>& x, double n) noexcept {
  auto cur = x.load(std::memory_order_relaxed);
  while (!x.compare_exchange_weak(cur, cur + n, std::memory_order_relaxed))
    ; // cur is reloaded on failure
}

void escape_label_value(std::string& out, std::string_view x) {
  for (char c : x) {
    switch (c) {
    case '\\':
      out += "\\\\";
      break;
    case '"':
      out += "\\\"";
      break;
    case '\n':
      out += "\\n";
      break;
    default:
      out += c;
    }
  }
}

void escape_help(std::string& out, std::string_view x) {
  for (char c : x) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
}

metric_labels sorted(metric_labels labels) {
  std::sort(labels.begin(), labels.end());
  for (size_t i = 0; i < labels.size(); ++i) {
    if (!valid_label_name(labels[i].first) || labels[i].first == "le")
      throw metric_error("invalid label name '" + labels[i].first +
                         "': expected [a-zA-Z_][a-zA-Z0-9_]*, not starting "
                         "with __ (and not 'le', reserved for buckets)");
    if (i > 0 && labels[i].first == labels[i - 1].first)
      throw metric_error("label '" + labels[i].first + "' given twice");
  }
  return labels;
}

} // namespace

std::string_view to_string(metric_type x) noexcept {
  constexpr enum_names<metric_type, 3> names{{{
    {metric_type::counter, "counter"},
    {metric_type::gauge, "gauge"},
    {metric_type::histogram, "histogram"},
  }}};
  return names.name(x, "untyped");
}

bool valid_metric_name(std::string_view name) noexcept {
  if (name.empty())
    return false;
  for (size_t i = 0; i < name.size(); ++i)
    if (!name_char(name[i], i == 0, true))
      return false;
  return true;
}

bool valid_label_name(std::string_view name) noexcept {
  if (name.empty() || name.substr(0, 2) == "__")
    return false;
  for (size_t i = 0; i < name.size(); ++i)
    if (!name_char(name[i], i == 0, false))
      return false;
  return true;
}

std::string format_metric_value(double x) {
  if (std::isnan(x))
    return "NaN";
  if (std::isinf(x))
    return x > 0 ? "+Inf" : "-Inf";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), x);
  return std::string(buf, res.ptr);
}

// -- metrics ------------------------------------------------------------------

void counter::inc(double n) noexcept {
  if (n > 0) // also false for NaN
    add(value_, n);
}

void gauge::inc(double n) noexcept {
  add(value_, n);
}

histogram::histogram(std::vector<double> bounds) : bounds_(std::move(bounds)) {
  for (size_t i = 0; i < bounds_.size(); ++i) {
    if (!std::isfinite(bounds_[i]))
      throw metric_error("histogram bounds must be finite (+Inf is implicit)");
    if (i > 0 && !(bounds_[i - 1] < bounds_[i]))
      throw metric_error("histogram bounds must be strictly increasing");
  }
  counts_ = std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1);
  for (size_t i = 0; i <= bounds_.size(); ++i)
    counts_[i].store(0, std::memory_order_relaxed);
}

void histogram::observe(double x) noexcept {
  auto i = static_cast<size_t>(
    std::lower_bound(bounds_.begin(), bounds_.end(), x) - bounds_.begin());
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  add(sum_, x);
}

std::vector<uint64_t> histogram::cumulative_counts() const {
  std::vector<uint64_t> out(bounds_.size() + 1);
  uint64_t total = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    total += counts_[i].load(std::memory_order_relaxed);
    out[i] = total;
  }
  return out;
}

uint64_t histogram::count() const noexcept {
  uint64_t total = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i)
    total += counts_[i].load(std::memory_order_relaxed);
  return total;
}

// -- writer -------------------------------------------------------------------

void exposition_writer::extra_labels(metric_labels labels) {
  extra_ = std::move(labels);
}

bool exposition_writer::family(std::string_view name, std::string_view help,
                               metric_type type) {
  current_ = nullptr;
  if (!valid_metric_name(name)) {
    ++conflicts_;
    return false;
  }
  auto i = families_.find(name);
  if (i == families_.end()) {
    i = families_.emplace(std::string{name}, family_text{}).first;
    escape_help(i->second.help, help);
    i->second.type = type;
    order_.emplace_back(name);
  } else if (i->second.type != type) {
    ++conflicts_;
    return false;
  }
  current_ = &i->second;
  current_name_ = std::string{name};
  return true;
}

void exposition_writer::sample(const metric_labels& labels, double value) {
  sample({}, labels, value);
}

void exposition_writer::sample(std::string_view suffix,
                               const metric_labels& labels, double value) {
  if (current_ == nullptr) {
    ++conflicts_;
    return;
  }
  auto valid = [](auto& kv) { return valid_label_name(kv.first); };
  if (!std::all_of(extra_.begin(), extra_.end(), valid) ||
      !std::all_of(labels.begin(), labels.end(), valid) ||
      !valid_metric_name(suffix.empty() ? "x" : suffix)) {
    ++conflicts_;
    return;
  }
  std::string series;
  auto& out = summing_ ? series : current_->samples;
  out += current_name_;
  out += suffix;
  if (!extra_.empty() || !labels.empty()) {
    out += '{';
    bool first = true;
    const std::array<const metric_labels*, 2> sets{&extra_, &labels};
    for (auto* set : sets)
      for (auto& [k, v] : *set) {
        auto& name = k; // a structured binding cannot be captured in C++17
        // An extra label (the service's identity) wins over a series label
        // of the same name: Prometheus rejects a name given twice.
        if (set == &labels &&
            std::any_of(extra_.begin(), extra_.end(),
                        [&name](auto& e) { return e.first == name; }))
          continue;
        if (!first)
          out += ',';
        first = false;
        out += k;
        out += "=\"";
        escape_label_value(out, v);
        out += '"';
      }
    out += '}';
  }
  if (summing_) {
    auto& f = *current_;
    auto [i, added] = f.sum_index.emplace(series, f.sums.size());
    if (added)
      f.sums.emplace_back(std::move(series), value);
    else
      f.sums[i->second].second += value;
    return;
  }
  out += ' ';
  out += format_metric_value(value);
  out += '\n';
}

void exposition_writer::summing(bool on) {
  summing_ = on;
}

std::string exposition_writer::str() const {
  std::string out;
  for (auto& name : order_) {
    auto& f = families_.find(name)->second;
    out += "# HELP " + name + ' ' + f.help + '\n';
    out += "# TYPE " + name + ' ' + std::string{to_string(f.type)} + '\n';
    out += f.samples;
    for (auto& [series, value] : f.sums) {
      out += series;
      out += ' ';
      out += format_metric_value(value);
      out += '\n';
    }
  }
  return out;
}

// -- registry -----------------------------------------------------------------

struct metric_registry::family {
  std::string name;
  std::string help;
  metric_type type;
  // Series by sorted labels; exactly one of the pointers is set.
  struct series {
    std::unique_ptr<troupe::counter> c;
    std::unique_ptr<troupe::gauge> g;
    std::unique_ptr<troupe::histogram> h;
  };
  std::map<metric_labels, series> members;
};

metric_registry::metric_registry() = default;

std::vector<std::pair<metric_labels, double>>
metric_registry::values(const std::string& name) const {
  std::vector<std::pair<metric_labels, double>> out;
  std::lock_guard<std::mutex> guard{mtx_};
  for (auto& f : families_) {
    if (f->name != name)
      continue;
    for (auto& [labels, s] : f->members) {
      if (s.c)
        out.emplace_back(labels, s.c->value());
      else if (s.g)
        out.emplace_back(labels, s.g->value());
    }
  }
  return out;
}

metric_registry::~metric_registry() = default;

metric_registry::family& metric_registry::find_or_add(const std::string& name,
                                                      const std::string& help,
                                                      metric_type type) {
  if (!valid_metric_name(name))
    throw metric_error("invalid metric name '" + name +
                       "': expected [a-zA-Z_:][a-zA-Z0-9_:]*");
  for (auto& f : families_) {
    if (f->name != name)
      continue;
    if (f->type != type)
      throw metric_error("metric '" + name + "' is already a " +
                         std::string{to_string(f->type)} + ", not a " +
                         std::string{to_string(type)});
    if (f->help != help)
      throw metric_error("metric '" + name +
                         "' is already registered with help '" + f->help + "'");
    return *f;
  }
  auto f = std::make_unique<family>();
  f->name = name;
  f->help = help;
  f->type = type;
  families_.push_back(std::move(f));
  return *families_.back();
}

troupe::counter& metric_registry::counter(const std::string& name,
                                          const std::string& help,
                                          metric_labels labels) {
  auto key = sorted(std::move(labels));
  std::lock_guard<std::mutex> guard{mtx_};
  auto& s = find_or_add(name, help, metric_type::counter).members[key];
  if (!s.c)
    s.c = std::make_unique<troupe::counter>();
  return *s.c;
}

troupe::gauge& metric_registry::gauge(const std::string& name,
                                      const std::string& help,
                                      metric_labels labels) {
  auto key = sorted(std::move(labels));
  std::lock_guard<std::mutex> guard{mtx_};
  auto& s = find_or_add(name, help, metric_type::gauge).members[key];
  if (!s.g)
    s.g = std::make_unique<troupe::gauge>();
  return *s.g;
}

troupe::histogram& metric_registry::histogram(const std::string& name,
                                              const std::string& help,
                                              std::vector<double> bounds,
                                              metric_labels labels) {
  auto key = sorted(std::move(labels));
  auto fresh = std::make_unique<troupe::histogram>(std::move(bounds));
  std::lock_guard<std::mutex> guard{mtx_};
  auto& f = find_or_add(name, help, metric_type::histogram);
  auto& s = f.members[key];
  if (!s.h) {
    s.h = std::move(fresh);
  } else if (s.h->bounds() != fresh->bounds()) {
    throw metric_error("histogram '" + name +
                       "' is already registered with other buckets");
  }
  return *s.h;
}

void metric_registry::add_collector(
  std::string key, std::function<void(exposition_writer&)> fn) {
  std::lock_guard<std::mutex> guard{mtx_};
  for (auto& [k, f] : collectors_)
    if (k == key) {
      f = std::move(fn);
      return;
    }
  collectors_.emplace_back(std::move(key), std::move(fn));
}

void metric_registry::remove_collector(const std::string& key) {
  std::lock_guard<std::mutex> guard{mtx_};
  collectors_.erase(std::remove_if(collectors_.begin(), collectors_.end(),
                                   [&key](auto& c) { return c.first == key; }),
                    collectors_.end());
}

void metric_registry::write(exposition_writer& w) const {
  std::lock_guard<std::mutex> guard{mtx_};
  write_families(w);
  for (auto& c : collectors_)
    c.second(w);
}

void metric_registry::write_families(exposition_writer& w) const {
  for (auto& f : families_) {
    if (!w.family(f->name, f->help, f->type))
      continue;
    for (auto& [labels, s] : f->members) {
      if (s.c) {
        w.sample(labels, s.c->value());
      } else if (s.g) {
        w.sample(labels, s.g->value());
      } else if (s.h) {
        auto counts = s.h->cumulative_counts();
        auto& bounds = s.h->bounds();
        auto with_le = labels;
        with_le.emplace_back("le", "");
        for (size_t i = 0; i < counts.size(); ++i) {
          with_le.back().second = i < bounds.size()
                                    ? format_metric_value(bounds[i])
                                    : std::string{"+Inf"};
          w.sample("_bucket", with_le, static_cast<double>(counts[i]));
        }
        w.sample("_sum", labels, s.h->sum());
        // The +Inf bucket, read once: _count always equals it.
        w.sample("_count", labels, static_cast<double>(counts.back()));
      }
    }
  }
}

std::string metric_registry::render(metric_labels extra) const {
  exposition_writer w;
  w.extra_labels(std::move(extra));
  write(w);
  return w.str();
}

#if defined(__SANITIZE_ADDRESS__)
// libasan's count of live heap bytes (sanitizer/allocator_interface.h, which
// GCC does not ship).
extern "C" size_t __sanitizer_get_current_allocated_bytes();
#endif

uint64_t process_heap_bytes() noexcept {
#if defined(__SANITIZE_ADDRESS__)
  return __sanitizer_get_current_allocated_bytes();
#else
  auto mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
#endif
}

uint64_t process_rss_bytes() noexcept {
  // statm: size resident shared text lib data dt, in pages.
  auto* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr)
    return 0;
  unsigned long size = 0;
  unsigned long resident = 0;
  auto n = std::fscanf(f, "%lu %lu", &size, &resident);
  std::fclose(f);
  if (n != 2)
    return 0;
  return static_cast<uint64_t>(resident) *
         static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

} // namespace troupe
