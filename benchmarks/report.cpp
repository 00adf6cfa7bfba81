#include "report.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <stdexcept>
#include <thread>
#include <utility>

#include <nlohmann/json.hpp>
#include <sys/utsname.h>

namespace troupe::bench {

double samples::median() const {
  if (values.empty())
    return 0;
  auto v = values;
  std::sort(v.begin(), v.end());
  auto n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double samples::min() const {
  return values.empty() ? 0 : *std::min_element(values.begin(), values.end());
}

double samples::max() const {
  return values.empty() ? 0 : *std::max_element(values.begin(), values.end());
}

double result::ratio() const {
  auto r = raw.median();
  return r == 0 ? 0 : troupe.median() / r;
}

namespace {

std::string human(double x) {
  char buf[32];
  if (x >= 1e6)
    std::snprintf(buf, sizeof(buf), "%.2fM", x / 1e6);
  else if (x >= 1e3)
    std::snprintf(buf, sizeof(buf), "%.1fk", x / 1e3);
  else
    std::snprintf(buf, sizeof(buf), "%.2f", x);
  return buf;
}

} // namespace

void print_table(const std::vector<result>& results) {
  std::printf("%-34s %24s %24s %6s  %s\n", "SCENARIO",
              "TROUPE median [min-max]", "RAW median [min-max]", "RATIO",
              "UNIT");
  for (auto& r : results) {
    auto cell = [](const samples& s) {
      return human(s.median()) + " [" + human(s.min()) + "-" + human(s.max()) +
             "]";
    };
    std::string notes;
    if (r.payload_bytes > 0) {
      auto mb = [&](const samples& s) {
        char buf[32];
        std::snprintf(buf, sizeof(buf), "%.1f",
                      s.median() * static_cast<double>(r.payload_bytes) / 1e6);
        return std::string{buf};
      };
      notes += "  MB/s " + mb(r.troupe) + " vs " + mb(r.raw);
    }
    if (r.lost)
      notes += "  lost " + std::to_string(r.lost->troupe) + " vs " +
               std::to_string(r.lost->raw);
    for (auto& x : r.extras) {
      char buf[96];
      std::snprintf(buf, sizeof(buf), "  %s %.4g vs %.4g", x.name.c_str(),
                    x.troupe.median(), x.raw.median());
      notes += buf;
    }
    std::printf("%-34s %24s %24s %6.2f  %s%s%s\n", r.name.c_str(),
                cell(r.troupe).c_str(), cell(r.raw).c_str(), r.ratio(),
                r.unit.c_str(), r.higher_is_better ? "" : " (lower is better)",
                notes.c_str());
  }
  std::fflush(stdout);
}

machine_info describe_machine() {
  machine_info m;
  utsname un{};
  if (uname(&un) == 0) {
    m.host = un.nodename;
    m.kernel = std::string{un.sysname} + " " + un.release;
    m.arch = un.machine;
  }
  m.cores = std::thread::hardware_concurrency();
#if defined(__clang__)
  m.compiler = "clang++ " __clang_version__;
#elif defined(__GNUC__)
  m.compiler = "g++ " __VERSION__;
#else
  m.compiler = "unknown";
#endif
#ifdef TROUPE_BENCH_BUILD_TYPE
  m.build_type = TROUPE_BENCH_BUILD_TYPE;
#endif
  if (m.build_type.empty()) {
#ifdef NDEBUG
    m.build_type = "unknown (NDEBUG)";
#else
    m.build_type = "unknown (assertions on)";
#endif
  }
  auto t = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&t, &utc);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &utc);
  m.date = buf;
  return m;
}

std::string summary(const machine_info& m) {
  return m.host + " (" + std::to_string(m.cores) + " cores, " + m.kernel +
         ", " + m.compiler + ", " + m.build_type + ", CAF " +
         (m.caf_version.empty() ? "?" : m.caf_version) + ", " + m.date + ")";
}

void write_json(const std::vector<result>& results, const machine_info& m,
                const std::string& path) {
  nlohmann::json doc;
  doc["machine"] = {{"host", m.host},         {"cores", m.cores},
                    {"kernel", m.kernel},     {"arch", m.arch},
                    {"compiler", m.compiler}, {"build_type", m.build_type},
                    {"caf", m.caf_version},   {"date", m.date}};
  doc["scenarios"] = nlohmann::json::array();
  for (auto& r : results) {
    nlohmann::json s = {{"name", r.name},
                        {"unit", r.unit},
                        {"troupe", r.troupe.median()},
                        {"raw", r.raw.median()},
                        {"ratio", r.ratio()},
                        {"higher_is_better", r.higher_is_better},
                        {"troupe_min", r.troupe.min()},
                        {"troupe_max", r.troupe.max()},
                        {"raw_min", r.raw.min()},
                        {"raw_max", r.raw.max()},
                        {"repetitions", r.troupe.values.size()},
                        {"workload", r.workload}};
    if (r.payload_bytes > 0) {
      auto bytes = static_cast<double>(r.payload_bytes);
      s["payload_bytes"] = r.payload_bytes;
      s["troupe_mb_s"] = r.troupe.median() * bytes / 1e6;
      s["raw_mb_s"] = r.raw.median() * bytes / 1e6;
    }
    if (r.lost)
      s["lost"] = {{"troupe", r.lost->troupe}, {"raw", r.lost->raw}};
    if (!r.extras.empty()) {
      auto& xs = s["extras"] = nlohmann::json::array();
      for (auto& x : r.extras)
        xs.push_back({{"name", x.name},
                      {"troupe", x.troupe.median()},
                      {"raw", x.raw.median()},
                      {"troupe_min", x.troupe.min()},
                      {"troupe_max", x.troupe.max()},
                      {"raw_min", x.raw.min()},
                      {"raw_max", x.raw.max()}});
    }
    doc["scenarios"].push_back(std::move(s));
  }
  std::ofstream out{path};
  if (!out)
    throw std::runtime_error("cannot write " + path);
  out << doc.dump(2) << '\n';
  if (!out)
    throw std::runtime_error("cannot write " + path);
}

void alternate(const run_options& opts, result& r,
               const std::function<double()>& measure_raw,
               const std::function<double()>& measure_troupe) {
  for (int i = 0; i < opts.warmup; ++i) {
    measure_raw();
    measure_troupe();
  }
  for (int i = 0; i < opts.repetitions; ++i) {
    r.raw.values.push_back(measure_raw());
    r.troupe.values.push_back(measure_troupe());
  }
}

result compare(const run_options& opts, std::string name, std::string unit,
               std::string workload, const std::function<double()>& measure_raw,
               const std::function<double()>& measure_troupe,
               bool higher_is_better) {
  result r;
  r.name = std::move(name);
  r.unit = std::move(unit);
  r.higher_is_better = higher_is_better;
  r.workload = std::move(workload);
  alternate(opts, r, measure_raw, measure_troupe);
  return r;
}

} // namespace troupe::bench
