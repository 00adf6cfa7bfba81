// troupe-bench: every figure beside its raw CAF baseline, measured in one run.

#include <algorithm>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "measure.hpp"
#include "report.hpp"
#include "scenarios.hpp"
#include "troupe/actors/logging.hpp"

using namespace troupe::bench;

namespace {

constexpr int exit_failure = 1;
constexpr int exit_usage = 2;

std::string names_of(const std::vector<scenario>& all) {
  std::string out;
  for (auto& s : all)
    out += (out.empty() ? "" : ", ") + s.name;
  return out;
}

std::string list_text(const std::vector<scenario>& all) {
  size_t width = 0;
  for (auto& s : all)
    width = std::max(width, s.name.size());
  std::string out;
  for (auto& s : all)
    out += "  " + s.name + std::string(width - s.name.size() + 2, ' ') +
           s.description + "\n";
  return out;
}

// Picks the scenarios named on the command line, in registry order, or all
// of them (with `quick`: all of the quick run). Returns false (after
// printing why) for an unknown name.
bool select(const std::vector<scenario>& all,
            const std::vector<std::string>& wanted, bool quick,
            std::vector<const scenario*>& out) {
  for (auto& w : wanted) {
    auto known =
      std::any_of(all.begin(), all.end(), [&](auto& s) { return s.name == w; });
    if (!known) {
      std::fprintf(stderr,
                   "troupe-bench: unknown scenario '%s'\nvalid names: %s\n",
                   w.c_str(), names_of(all).c_str());
      return false;
    }
  }
  for (auto& s : all)
    if (wanted.empty()
          ? !quick || s.quick
          : std::find(wanted.begin(), wanted.end(), s.name) != wanted.end())
      out.push_back(&s);
  return true;
}

int run(int argc, char** argv) {
  auto all = all_scenarios();

  CLI::App app{"troupe-bench: measures troupe services, the topic bus and the "
               "lifecycle against the same work done with plain CAF actors, "
               "alternating repetitions in one run. Prints medians with "
               "[min-max] and the ratio troupe/raw."};
  app.footer("Scenarios:\n" + list_text(all) +
             "\nExamples:\n"
             "  troupe-bench --quick                 all scenarios, small "
             "workloads (< 60 s)\n"
             "  troupe-bench -s local.int -s request.p50 --repetitions 9\n"
             "  troupe-bench --json results.json     also write JSON\n"
             "  troupe-bench --replay run.bag        a recorded workload "
             "(troupe record)\n");
  std::vector<std::string> wanted;
  app
    .add_option("-s,--scenario", wanted,
                "Run only this scenario (repeatable, or comma-separated); "
                "default: all")
    ->type_name("NAME")
    ->delimiter(',');
  bool quick = false;
  app.add_flag("--quick", quick,
               "Small workloads and 3 repetitions: every scenario in well "
               "under a minute (a smoke run, not a measurement); of the "
               "two-process bridge scenarios only a subset runs unless named "
               "with --scenario");
  std::string json_path;
  app.add_option("--json", json_path, "Also write the results as JSON to FILE")
    ->type_name("FILE");
  run_options opts;
  auto* reps = app
                 .add_option("-r,--repetitions", opts.repetitions,
                             "Measured repetitions per side (default 5, 3 "
                             "with --quick)")
                 ->check(CLI::Range(1, 1000).description(""))
                 ->type_name("N");
  app
    .add_option("-w,--warmup", opts.warmup,
                "Unmeasured warm-up repetitions per side")
    ->check(CLI::Range(0, 100).description(""))
    ->type_name("N")
    ->capture_default_str();
  app
    .add_option("--threads", opts.threads,
                "CAF scheduler worker threads; 0 keeps CAF's default, "
                "max(cores, 4)")
    ->check(CLI::Range(0, 1024).description(""))
    ->type_name("N")
    ->capture_default_str();
  app
    .add_option("--troupe", opts.troupe_path,
                "The troupe executable echo.forward runs (default: troupe "
                "beside troupe-bench, or ../apps/troupe in the build tree)")
    ->type_name("PATH");
#ifdef TROUPE_BENCH_ECHO_APP
  opts.echo_app = TROUPE_BENCH_ECHO_APP;
#endif
  app
    .add_option("--echo-app", opts.echo_app,
                "The app file echo.forward runs with `troupe run`")
    ->type_name("FILE")
    ->capture_default_str();
  std::string replay_file;
  app
    .add_option("--replay", replay_file,
                "Run the 'replay' scenario on this bag (troupe record -o "
                "FILE): its messages through a bridge endpoint vs raw "
                "cppzmq; alone unless scenarios are named with --scenario")
    ->type_name("FILE");
  bool list = false;
  app.add_flag("--list", list,
               "List the scenarios (name, description) and exit; with "
               "--quick, those a quick run runs");
  CLI11_PARSE(app, argc, argv);
  if (!replay_file.empty()) {
    all.push_back(replay_scenario(replay_file));
    wanted.emplace_back("replay");
  }

  if (list) {
    std::vector<scenario> shown;
    for (auto& s : all)
      if (!quick || s.quick)
        shown.push_back(s);
    std::fputs(list_text(shown).c_str(), stdout);
    return 0;
  }
  std::vector<const scenario*> chosen;
  if (!select(all, wanted, quick, chosen))
    return exit_usage;
  opts.quick = quick;
  if (quick && reps->count() == 0)
    opts.repetitions = 3;

  // Services log state changes at info; the bench wants warnings only.
  troupe::init_logging(spdlog::level::warn);
  auto machine = describe_machine();
  machine.caf_version = caf_version();
  if (machine.build_type != "Release" && machine.build_type != "RelWithDebInfo")
    std::fprintf(stderr,
                 "troupe-bench: warning: built as '%s'; figures from an "
                 "unoptimized build say little\n",
                 machine.build_type.c_str());

  std::vector<result> results;
  std::vector<std::string> failures;
  for (size_t i = 0; i < chosen.size(); ++i) {
    auto& sc = *chosen[i];
    std::fprintf(stderr, "[%zu/%zu] %s ...\n", i + 1, chosen.size(),
                 sc.name.c_str());
    stopwatch sw;
    try {
      results.push_back(sc.run(opts));
      std::fprintf(stderr, "[%zu/%zu] %s done in %.1f s\n", i + 1,
                   chosen.size(), sc.name.c_str(), sw.seconds());
    } catch (const std::exception& e) {
      std::fprintf(stderr, "[%zu/%zu] %s FAILED: %s\n", i + 1, chosen.size(),
                   sc.name.c_str(), e.what());
      failures.push_back(sc.name);
    }
  }

  std::printf("# %s\n# %d repetition(s) + %d warm-up per side%s\n",
              summary(machine).c_str(), opts.repetitions, opts.warmup,
              opts.quick ? ", --quick workloads" : "");
  print_table(results);

  if (!failures.empty()) {
    std::string names;
    for (auto& f : failures)
      names += (names.empty() ? "" : ", ") + f;
    std::fprintf(stderr, "troupe-bench: %zu scenario(s) failed: %s%s\n",
                 failures.size(), names.c_str(),
                 json_path.empty() ? "" : " (no JSON written)");
    return exit_failure;
  }
  if (!json_path.empty()) {
    try {
      write_json(results, machine, json_path);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "troupe-bench: %s\n", e.what());
      return exit_failure;
    }
  }
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  // A failing scenario is reported and counted by run(); anything else that
  // escapes (allocation, I/O, CLI11 set-up) is reported the same way instead
  // of ending in std::terminate.
  try {
    // The second process of the bridge scenarios (see peer_process.hpp); not
    // part of the documented command line.
    if (argc >= 2 && std::string{argv[1]} == "--peer")
      return peer_main(std::vector<std::string>(argv + 2, argv + argc));
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "troupe-bench: %s\n", e.what());
    return exit_failure;
  }
}
