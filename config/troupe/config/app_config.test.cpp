#include "troupe/config/app_config.hpp"

#include "troupe/config/render.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

using namespace troupe::config;
using namespace std::chrono_literals;

namespace {

type_catalog test_types() {
  type_catalog types;
  schema gen{"Generates numbers"};
  gen.integer("rate", "Numbers per second").fallback(10).at_least(1);
  gen.duration("period", "Tick period").fallback(duration{1s}).at_least(0.001);
  gen.string("codec", "Encoding").fallback("json").one_of({"json", "raw"});
  gen.floating("ratio", "A ratio").fallback(0.5).at_least(0).at_most(1);
  gen.boolean("verbose", "Talk more").fallback(false);
  gen.list("topics", "Topics").of(value_kind::string).fallback(list{});
  auto& ep = gen.entries("endpoints", "Endpoints by name");
  ep.string("socket", "Socket type").require().one_of({"pub", "sub"});
  ep.integer("hwm", "High-water mark").fallback(1000).at_least(0);
  types.emplace("gen", std::move(gen));
  types.emplace("sink", schema{"Swallows everything"});
  return types;
}

app_load_result load(const std::string& text,
                     std::vector<std::string> sets = {},
                     layered_config::environment env = {}) {
  app_sources src;
  src.file = "app.toml";
  src.text = text;
  src.sets = std::move(sets);
  src.env = std::move(env);
  return load_app(src, test_types());
}

std::string all(const diagnostics& ds) {
  std::string out;
  for (auto& d : ds)
    out += d.to_string() + '\n';
  return out;
}

} // namespace

TEST(app_config, minimal_file_gets_defaults) {
  auto r = load("[services.g]\ntype = \"gen\"\n");
  ASSERT_TRUE(r.ok()) << all(r.errors);
  auto& c = r.config;
  EXPECT_EQ(c.name, "troupe");
  EXPECT_EQ(c.log_level, "info");
  EXPECT_EQ(c.shutdown_timeout, duration{10s});
  ASSERT_EQ(c.services.count("g"), 1u);
  auto& g = c.services.at("g");
  EXPECT_EQ(g.type, "gen");
  EXPECT_TRUE(g.autostart);
  EXPECT_EQ(g.restart, "permanent");
  EXPECT_EQ(g.settings.get<int64_t>("rate"), 10);
  EXPECT_EQ(g.settings.get<duration>("period"), duration{1s});
  EXPECT_FALSE(g.settings.contains("type")); // common keys are not settings
  EXPECT_EQ(c.layers.origin_of("services.g.rate")->kind, origin_kind::defaults);
  EXPECT_EQ(c.layers.origin_of("services.g.type")->where, "app.toml:2:8");
}

TEST(app_config, origins_of_defaults_tables_and_missing_paths) {
  auto r = load("[services.g]\ntype = \"gen\"\nrate = 5\n");
  ASSERT_TRUE(r.ok()) << all(r.errors);
  auto& layers = r.config.layers;
  EXPECT_EQ(layers.origin_of("services.g.rate")->kind, origin_kind::file);
  // Filled in by validation: a default, though no origin was recorded.
  EXPECT_EQ(layers.origin_of("services.g.codec")->kind, origin_kind::defaults);
  EXPECT_EQ(layers.origins().count("services.g.codec"), 0u);
  // A path with nothing at it has none.
  EXPECT_EQ(layers.origin_of("services.g.nothing"), nullptr);
  EXPECT_EQ(layers.origin_of("services.h.rate"), nullptr);
  // The rendered config still says where each value came from.
  auto text = render_effective(layers);
  EXPECT_NE(text.find("codec = \"json\"  # default"), std::string::npos)
    << text;
}

TEST(app_config, services_with_equal_settings_share_one_table) {
  auto r = load("[services.a]\ntype = \"gen\"\nrate = 5\n"
                "[services.b]\ntype = \"gen\"\nrate = 5\n"
                "[services.c]\ntype = \"gen\"\nrate = 6\n"
                "[services.d]\ntype = \"gen\"\nrate = 6\n"
                "[services.e]\ntype = \"gen\"\nrate = 5\n"
                "[services.s1]\ntype = \"sink\"\n"
                "[services.s2]\ntype = \"sink\"\n");
  ASSERT_TRUE(r.ok()) << all(r.errors);
  auto& sv = r.config.services;
  auto table_of = [&](const char* name) {
    return &sv.at(name).settings.values();
  };
  EXPECT_EQ(table_of("a"), table_of("b"));
  EXPECT_EQ(table_of("c"), table_of("d"));
  EXPECT_NE(table_of("b"), table_of("c"));
  // Only the previous service of a type is compared: e equals a, not d.
  EXPECT_NE(table_of("e"), table_of("a"));
  EXPECT_EQ(sv.at("e").settings, sv.at("a").settings);
  EXPECT_EQ(sv.at("c").settings.get<int64_t>("rate"), 6);
  // No settings of their own: no table at all, and equal.
  EXPECT_EQ(table_of("s1"), table_of("s2"));
  EXPECT_TRUE(sv.at("s1").settings.values().empty());
}

// One case per error kind, each with its exact position and message.
struct error_case {
  const char* name;
  const char* text;
  const char* expected;
};

class app_config_errors : public testing::TestWithParam<error_case> {};

TEST_P(app_config_errors, reports_position_path_and_message) {
  auto& c = GetParam();
  auto r = load(c.text);
  ASSERT_EQ(r.errors.size(), 1u) << all(r.errors);
  EXPECT_EQ(r.errors[0].to_string(), c.expected);
}

INSTANTIATE_TEST_SUITE_P(
  kinds, app_config_errors,
  testing::Values(
    error_case{"syntax", "[app\nname = 1\n",
               "app.toml:1:5: Error while parsing table header: expected "
               "']', saw '\\n'"},
    error_case{"unknown_top_level_key", "[servces.g]\ntype = \"gen\"\n",
               "app.toml:1:2: servces: unknown key 'servces' (did you mean "
               "'services'?)"},
    error_case{"unknown_app_key", "[app]\nlog_levle = \"info\"\n",
               "app.toml:2:1: app.log_levle: unknown key 'log_levle' (did you "
               "mean 'log_level'?)"},
    error_case{"unknown_setting", "[services.g]\ntype = \"gen\"\nrat = 5\n",
               "app.toml:3:1: services.g.rat: unknown key 'rat' (did you mean "
               "'rate'?)"},
    error_case{"unknown_key_no_suggestion",
               "[services.g]\ntype = \"gen\"\nzzzzzzzz = 5\n",
               "app.toml:3:1: services.g.zzzzzzzz: unknown key 'zzzzzzzz'"},
    error_case{"wrong_type", "[services.g]\ntype = \"gen\"\nrate = \"fast\"\n",
               "app.toml:3:8: services.g.rate: expected integer >= 1, got "
               "\"fast\""},
    error_case{"below_minimum", "[services.g]\ntype = \"gen\"\nrate = 0\n",
               "app.toml:3:8: services.g.rate: expected integer >= 1, got 0"},
    error_case{"above_maximum", "[services.g]\ntype = \"gen\"\nratio = 1.5\n",
               "app.toml:3:9: services.g.ratio: expected float in [0, 1], "
               "got 1.5"},
    error_case{"bad_choice", "[services.g]\ntype = \"gen\"\ncodec = \"jsn\"\n",
               "app.toml:3:9: services.g.codec: expected one of json, raw, got "
               "\"jsn\" (did you mean 'json'?)"},
    error_case{"bad_duration",
               "[services.g]\ntype = \"gen\"\nperiod = \"5 parsecs\"\n",
               "app.toml:3:10: services.g.period: expected duration >= "
               "1ms, got \"5 parsecs\""},
    error_case{"duration_without_unit",
               "[services.g]\ntype = \"gen\"\nperiod = 5\n",
               "app.toml:3:10: services.g.period: expected duration >= "
               "1ms, got 5"},
    error_case{"bad_list_element",
               "[services.g]\ntype = \"gen\"\ntopics = [\"a\", 2]\n",
               "app.toml:3:16: services.g.topics[1]: expected string, got 2"},
    error_case{"missing_required_type", "[services.g]\nrate = 5\n",
               "app.toml:1:1: services.g.type: missing required key 'type' "
               "(string)"},
    error_case{"unknown_type", "[services.g]\ntype = \"gne\"\n",
               "app.toml:2:8: services.g.type: unknown service type 'gne' "
               "(did you mean 'gen'?)"},
    error_case{"missing_required_in_entry",
               "[services.g]\ntype = \"gen\"\n[services.g.endpoints.in]\nhwm "
               "= 5\n",
               "app.toml:3:1: services.g.endpoints.in.socket: missing "
               "required key 'socket' (one of pub, sub)"},
    error_case{"entry_not_a_table",
               "[services.g]\ntype = \"gen\"\nendpoints = { in = 5 }\n",
               "app.toml:3:20: services.g.endpoints.in: expected a table "
               "([services.g.endpoints.in]), got 5"},
    error_case{"bad_restart_policy",
               "[services.g]\ntype = \"gen\"\nrestart = \"always\"\n",
               "app.toml:3:11: services.g.restart: expected one of permanent, "
               "transient, temporary, got \"always\""},
    error_case{"unknown_dependency",
               "[services.g]\ntype = \"gen\"\ndepends_on = [\"snk\"]\n"
               "[services.sink]\ntype = \"sink\"\n",
               "app.toml:3:15: services.g.depends_on[0]: unknown service "
               "'snk' (did you mean 'sink'?)"},
    error_case{"dependency_cycle",
               "[services.a]\ntype = \"sink\"\ndepends_on = [\"b\"]\n"
               "[services.b]\ntype = \"sink\"\ndepends_on = [\"a\"]\n",
               "app.toml:6:14: services.b.depends_on: dependency cycle: a -> "
               "b -> a"},
    error_case{"service_name_with_a_path",
               "[services.\"../etc\"]\ntype = \"sink\"\n",
               "app.toml:2:8: services.../etc: invalid service name "
               "'../etc': expected 1 to 64 letters, digits, '_' or '-', "
               "starting with a letter or digit"},
    error_case{"unknown_supervisor",
               "[supervisors.workers]\n[services.a]\ntype = \"sink\"\n"
               "supervisor = \"worker\"\n",
               "app.toml:4:14: services.a.supervisor: unknown supervisor "
               "'worker' (did you mean 'workers'?)"},
    error_case{"supervisor_without_any",
               "[services.a]\ntype = \"sink\"\nsupervisor = \"w\"\n",
               "app.toml:3:14: services.a.supervisor: unknown supervisor 'w' "
               "(no [supervisors.NAME] in the app file)"},
    error_case{"bad_nested_strategy",
               "[supervisors.w]\nstrategy = \"all_for_one\"\n",
               "app.toml:2:12: supervisors.w.strategy: expected one of "
               "one_for_one, one_for_all, rest_for_one, got \"all_for_one\" "
               "(did you mean 'one_for_one'?)"},
    error_case{"unknown_nested_key", "[supervisors.w]\nmax_restart = 3\n",
               "app.toml:2:1: supervisors.w.max_restart: unknown key "
               "'max_restart' (did you mean 'max_restarts'?)"},
    error_case{"supervisor_named_like_a_service",
               "[supervisors.a]\n[services.a]\ntype = \"sink\"\n",
               "app.toml:1:1: supervisors.a: supervisor 'a' has the name of a "
               "service; services and supervisors share one namespace"},
    error_case{"bad_supervisor_name", "[supervisors.\"a.b\"]\n",
               "app.toml:1:1: supervisors.a.b: invalid supervisor name 'a.b': "
               "expected 1 to 64 letters, digits, '_' or '-', starting with a "
               "letter or digit"},
    error_case{"cycle_through_a_supervisor",
               "[supervisors.w]\n[services.a]\ntype = \"sink\"\n"
               "supervisor = \"w\"\n[services.b]\ntype = \"sink\"\n"
               "supervisor = \"w\"\ndepends_on = [\"c\"]\n[services.c]\n"
               "type = \"sink\"\ndepends_on = [\"a\"]\n",
               "app.toml:8:14: services.b.depends_on: dependency cycle "
               "through a supervisor (c -> a, b -> c): services of one "
               "[supervisors.NAME] start and stop together, so nothing "
               "outside it may both need and be needed by them"},
    error_case{"date_value", "[app]\nname = 1979-05-27\n",
               "app.toml:2:8: app.name: dates and times are not supported; "
               "write a string or a duration like \"5s\""}),
  [](const testing::TestParamInfo<error_case>& info) {
    return std::string{info.param.name};
  });

TEST(app_config, nested_supervisors_from_the_file) {
  auto r = load("[supervisor]\nstrategy = \"one_for_one\"\n"
                "[supervisors.workers]\nstrategy = \"one_for_all\"\n"
                "max_restarts = 2\nperiod = \"10s\"\nbackoff_min = \"5ms\"\n"
                "jitter = 0\nseed = 7\n"
                "[services.db]\ntype = \"sink\"\n"
                "[services.a]\ntype = \"sink\"\nsupervisor = \"workers\"\n"
                "depends_on = [\"db\"]\n"
                "[services.b]\ntype = \"sink\"\nsupervisor = \"workers\"\n"
                "depends_on = [\"a\"]\n"
                "[services.api]\ntype = \"sink\"\ndepends_on = [\"b\"]\n");
  ASSERT_TRUE(r.ok()) << all(r.errors);
  auto& c = r.config;
  ASSERT_EQ(c.supervisors.count("workers"), 1u);
  auto& w = c.supervisors.at("workers");
  EXPECT_EQ(w.name, "workers");
  EXPECT_EQ(w.strategy, "one_for_all");
  EXPECT_EQ(w.max_restarts, 2);
  EXPECT_EQ(w.period, duration{10s});
  EXPECT_EQ(w.backoff_min, duration{5ms});
  EXPECT_EQ(w.backoff_max, duration{5s}); // the default
  EXPECT_EQ(w.jitter, 0.0);
  EXPECT_EQ(w.seed, 7);
  EXPECT_EQ(c.services.at("a").supervisor, "workers");
  EXPECT_EQ(c.services.at("db").supervisor, "");
  EXPECT_EQ(c.root_child("a"), "workers");
  EXPECT_EQ(c.root_child("b"), "workers");
  EXPECT_EQ(c.root_child("api"), "api");
  EXPECT_EQ(c.root_child("ghost"), "ghost");
  // Moving a service to another supervisor replaces it on reload.
  auto moved = load("[supervisors.workers]\n[services.db]\ntype = \"sink\"\n"
                    "supervisor = \"workers\"\n");
  ASSERT_TRUE(moved.ok()) << all(moved.errors);
  auto plain = load("[services.db]\ntype = \"sink\"\n");
  ASSERT_TRUE(plain.ok()) << all(plain.errors);
  auto changes = diff(plain.config, moved.config);
  EXPECT_EQ(changes.replaced, std::vector<std::string>{"db"});
}

TEST(app_config, every_supervisor_error_in_one_pass) {
  auto r = load("[supervisors.w]\nstrategy = \"none\"\n"
                "[services.a]\ntype = \"sink\"\nsupervisor = \"x\"\n"
                "[services.b]\ntype = \"sink\"\ndepends_on = [\"ghost\"]\n");
  EXPECT_EQ(r.errors.size(), 3u) << all(r.errors);
  auto text = all(r.errors);
  EXPECT_NE(text.find("supervisors.w.strategy"), std::string::npos) << text;
  EXPECT_NE(text.find("services.a.supervisor: unknown supervisor 'x'"),
            std::string::npos)
    << text;
  EXPECT_NE(text.find("services.b.depends_on[0]: unknown service 'ghost'"),
            std::string::npos)
    << text;
}

TEST(app_config, one_rule_for_service_names) {
  for (auto* good :
       {"tick", "worker0", "controller_bridge", "a-b", "9lives", "A"})
    EXPECT_FALSE(check_service_name(good)) << good;
  for (auto* bad : {"", "../etc", "..", ".", "a/b", "a b", "a.b", "-x", "_x",
                    "a%2Fb", "tick\n"})
    EXPECT_TRUE(check_service_name(bad)) << bad;
  EXPECT_FALSE(check_service_name(std::string(64, 'a')));
  EXPECT_TRUE(check_service_name(std::string(65, 'a')));
  EXPECT_EQ(*check_service_name("a\nb"),
            "invalid service name 'a\\x0ab': expected 1 to 64 letters, "
            "digits, '_' or '-', starting with a letter or digit");
}

TEST(app_config, collects_every_error_not_just_the_first) {
  auto r = load("[servces.x]\n"
                "[services.g]\n"
                "type = \"gen\"\n"
                "rate = \"fast\"\n"
                "ratio = 7.0\n");
  ASSERT_EQ(r.errors.size(), 3u) << all(r.errors);
  EXPECT_EQ(r.errors[0].to_string(),
            "app.toml:1:2: servces: unknown key 'servces' (did you mean "
            "'services'?)");
  EXPECT_EQ(r.errors[1].to_string(),
            "app.toml:4:8: services.g.rate: expected integer >= 1, got "
            "\"fast\"");
  EXPECT_EQ(r.errors[2].to_string(),
            "app.toml:5:9: services.g.ratio: expected float in [0, 1], got "
            "7.0");
}

TEST(app_config, supervisor_jitter_and_seed) {
  auto d = load("[services.g]\ntype = \"gen\"\n");
  ASSERT_TRUE(d.ok()) << all(d.errors);
  EXPECT_DOUBLE_EQ(d.config.restart_jitter, 0.2);
  EXPECT_EQ(d.config.restart_seed, 0);
  auto r = load("[supervisor]\njitter = 0.5\nseed = 42\n"
                "[services.g]\ntype = \"gen\"\n");
  ASSERT_TRUE(r.ok()) << all(r.errors);
  EXPECT_DOUBLE_EQ(r.config.restart_jitter, 0.5);
  EXPECT_EQ(r.config.restart_seed, 42);
  auto bad = load("[supervisor]\njitter = 1.5\nseed = -1\n");
  ASSERT_EQ(bad.errors.size(), 2u) << all(bad.errors);
  EXPECT_EQ(bad.errors[0].to_string(),
            "app.toml:2:10: supervisor.jitter: expected float in [0, 1], got "
            "1.5");
  EXPECT_EQ(bad.errors[1].to_string(),
            "app.toml:3:8: supervisor.seed: expected integer >= 0, got -1");
}

// Precedence: each source beats the one below it.
TEST(app_config, file_beats_defaults) {
  auto r = load("[app]\nname = \"file\"\n");
  ASSERT_TRUE(r.ok()) << all(r.errors);
  EXPECT_EQ(r.config.name, "file");
  EXPECT_EQ(r.config.layers.origin_of("app.name")->kind, origin_kind::file);
}

TEST(app_config, env_beats_file) {
  auto r = load("[app]\nname = \"file\"\n", {},
                {{"TROUPE_APP__NAME", "env"}, {"TROUPE_PROJECT", "ignored"}});
  ASSERT_TRUE(r.ok()) << all(r.errors);
  EXPECT_EQ(r.config.name, "env");
  auto* o = r.config.layers.origin_of("app.name");
  EXPECT_EQ(o->kind, origin_kind::env);
  EXPECT_EQ(o->describe(), "env TROUPE_APP__NAME");
}

TEST(app_config, cli_beats_env) {
  auto r = load("[app]\nname = \"file\"\n", {"app.name=cli"},
                {{"TROUPE_APP__NAME", "env"}});
  ASSERT_TRUE(r.ok()) << all(r.errors);
  EXPECT_EQ(r.config.name, "cli");
  EXPECT_EQ(r.config.layers.origin_of("app.name")->describe(),
            "--set app.name=cli");
}

TEST(app_config, later_set_beats_earlier_set) {
  auto r = load("", {"app.name=one", "app.name=two"});
  ASSERT_TRUE(r.ok()) << all(r.errors);
  EXPECT_EQ(r.config.name, "two");
}

// Text values from env and CLI are parsed by the key's declared type.
TEST(app_config, text_overrides_parse_by_declared_type) {
  auto r = load("[services.g]\ntype = \"gen\"\n",
                {"services.g.rate=42", "services.g.period=250ms",
                 "services.g.ratio=0.25", "services.g.verbose=yes",
                 "services.g.topics=a, b", "services.g.endpoints.x.socket=pub"},
                {{"TROUPE_SERVICES__G__DEPENDS_ON", "[]"},
                 {"TROUPE_APP__SHUTDOWN_TIMEOUT", "2m"}});
  ASSERT_TRUE(r.ok()) << all(r.errors);
  auto& s = r.config.services.at("g").settings;
  EXPECT_EQ(s.get<int64_t>("rate"), 42);
  EXPECT_EQ(s.get<duration>("period"), duration{250ms});
  EXPECT_EQ(s.get<double>("ratio"), 0.25);
  EXPECT_EQ(s.get<bool>("verbose"), true);
  EXPECT_EQ(s.get<list>("topics"), (list{"a", "b"}));
  EXPECT_EQ(s.get<std::string>("endpoints.x.socket"), "pub");
  EXPECT_EQ(s.get<int64_t>("endpoints.x.hwm"), 1000);
  EXPECT_EQ(r.config.shutdown_timeout, duration{2min});
}

TEST(app_config, toml_array_text_for_lists) {
  auto r = load("[services.g]\ntype = \"gen\"\n",
                {R"(services.g.topics=["x.", "y."])"});
  ASSERT_TRUE(r.ok()) << all(r.errors);
  EXPECT_EQ(r.config.services.at("g").settings.get<list>("topics"),
            (list{"x.", "y."}));
}

TEST(app_config, bad_override_values_name_the_flag_or_variable) {
  auto r =
    load("[services.g]\ntype = \"gen\"\n",
         {"services.g.rate=fast", "services.g.rat=1", "nonsense"},
         {{"TROUPE_SERVICES__G__VERBOSE", "maybe"}, {"TROUPE_APP____X", "1"}});
  auto text = all(r.errors);
  ASSERT_EQ(r.errors.size(), 5u) << text;
  EXPECT_NE(text.find("TROUPE_APP____X: malformed variable name"),
            std::string::npos)
    << text;
  EXPECT_NE(text.find("--set nonsense: expected --set key.path=value"),
            std::string::npos)
    << text;
  EXPECT_NE(text.find("--set services.g.rate=fast: services.g.rate: expected "
                      "integer >= 1, got \"fast\""),
            std::string::npos)
    << text;
  EXPECT_NE(text.find("--set services.g.rat=1: services.g.rat: unknown key "
                      "'rat' (did you mean 'rate'?)"),
            std::string::npos)
    << text;
  EXPECT_NE(text.find("TROUPE_SERVICES__G__VERBOSE: services.g.verbose: "
                      "expected boolean, got \"maybe\""),
            std::string::npos)
    << text;
}

TEST(app_config, table_cannot_be_set_from_text) {
  auto r = load("", {"app=1"});
  ASSERT_EQ(r.errors.size(), 1u) << all(r.errors);
  EXPECT_EQ(r.errors[0].to_string(),
            "--set app=1: app: a table cannot be set from text; set its keys "
            "one at a time (app.KEY=VALUE)");
}

TEST(app_config, effective_config_parses_back_to_the_same_values) {
  auto r = load("[app]\nname = \"demo\"\n"
                "[services.g]\ntype = \"gen\"\nrate = 3\n"
                "topics = [\"a\", \"b c\"]\n"
                "[services.g.endpoints.\"in put\"]\nsocket = \"sub\"\n"
                "[services.s]\ntype = \"sink\"\ndepends_on = [\"g\"]\n",
                {"services.g.period=1.5s", "services.g.ratio=0.1"},
                {{"TROUPE_APP__LOG_LEVEL", "debug"}});
  ASSERT_TRUE(r.ok()) << all(r.errors);
  auto text = render_effective(r.config.layers);
  EXPECT_NE(text.find("log_level = \"debug\"  # env TROUPE_APP__LOG_LEVEL"),
            std::string::npos)
    << text;
  EXPECT_NE(text.find("name = \"demo\"  # app.toml:2:8"), std::string::npos)
    << text;
  EXPECT_NE(text.find("period = \"1500ms\"  # --set services.g.period=1.5s"),
            std::string::npos)
    << text;
  EXPECT_NE(text.find("shutdown_timeout = \"10s\"  # default"),
            std::string::npos)
    << text;
  auto again = load(text);
  ASSERT_TRUE(again.ok()) << all(again.errors) << text;
  EXPECT_EQ(again.config.layers.values(), r.config.layers.values()) << text;
  EXPECT_TRUE(diff(r.config, again.config).empty());
}

// Found by fuzzing (tests/fuzz/corpus/fuzz_config/overrides.toml): an origin
// comment repeated the raw `--set` text, so a line break in the value ended
// the comment and the rest became a broken line of TOML.
TEST(app_config, effective_config_escapes_control_characters_in_origins) {
  auto r = load("",
                {"app.name=two\nlines", "app.log_file=a\rb\x01"
                                        "c\x7f"},
                {{"TROUPE_CONTROL__TOKEN", "t\x7f"}});
  ASSERT_TRUE(r.ok()) << all(r.errors);
  auto text = render_effective(r.config.layers);
  EXPECT_NE(text.find("name = \"two\\nlines\"  # --set app.name=two\\nlines\n"),
            std::string::npos)
    << text;
  EXPECT_NE(text.find("# --set app.log_file=a\\rb\\x01c\\x7f\n"),
            std::string::npos)
    << text;
  auto again = load(text);
  ASSERT_TRUE(again.ok()) << all(again.errors) << text;
  EXPECT_EQ(again.config.layers.values(), r.config.layers.values()) << text;
}

TEST(app_config, start_order_puts_dependencies_first) {
  // Alphabetical order would be wrong: a needs b, b needs c.
  auto r = load("[services.a]\ntype = \"sink\"\ndepends_on = [\"b\"]\n"
                "[services.b]\ntype = \"sink\"\ndepends_on = [\"c\"]\n"
                "[services.c]\ntype = \"sink\"\n"
                "[services.d]\ntype = \"sink\"\n");
  ASSERT_TRUE(r.ok()) << all(r.errors);
  EXPECT_EQ(r.config.start_order(),
            (std::vector<std::string>{"c", "d", "b", "a"}));
}

TEST(app_config, diff_finds_what_a_reload_changes) {
  auto before = load("[services.a]\ntype = \"gen\"\n"
                     "[services.b]\ntype = \"gen\"\n"
                     "[services.c]\ntype = \"sink\"\n"
                     "[services.d]\ntype = \"sink\"\n");
  auto after = load("[services.a]\ntype = \"gen\"\n"
                    "[services.b]\ntype = \"gen\"\nrate = 2\n"
                    "[services.c]\ntype = \"gen\"\n"
                    "[services.e]\ntype = \"sink\"\n");
  ASSERT_TRUE(before.ok() && after.ok());
  auto d = diff(before.config, after.config);
  EXPECT_EQ(d.changed, (std::vector<std::string>{"b"}));
  EXPECT_EQ(d.replaced, (std::vector<std::string>{"c"}));
  EXPECT_EQ(d.added, (std::vector<std::string>{"e"}));
  EXPECT_EQ(d.removed, (std::vector<std::string>{"d"}));
}

TEST(app_config, invalid_reload_is_reported_and_changes_nothing) {
  auto running = load("[services.a]\ntype = \"gen\"\nrate = 2\n");
  ASSERT_TRUE(running.ok());
  auto candidate = load("[services.a]\ntype = \"gen\"\nrate = -1\nx = 1\n");
  EXPECT_EQ(candidate.errors.size(), 2u) << all(candidate.errors);
  // The caller keeps `running`; loading the candidate did not touch it.
  EXPECT_EQ(running.config.services.at("a").settings.get<int64_t>("rate"), 2);
}

TEST(app_config, project_path_prefers_the_projects_copy) {
  namespace fs = std::filesystem;
  auto dir = fs::temp_directory_path() / "troupe-project-path-test";
  fs::remove_all(dir);
  fs::create_directories(dir / "projects" / "blue");
  std::ofstream{dir / "app.toml"} << "[app]\nname = \"base\"\n";
  std::ofstream{dir / "projects" / "blue" / "app.toml"}
    << "[app]\nname = \"blue\"\n";
  auto file = (dir / "app.toml").string();
  EXPECT_EQ(resolve_project_path(file, {}), file);
  EXPECT_EQ(resolve_project_path(file, {{"TROUPE_PROJECT", "red"}}), file);
  EXPECT_EQ(resolve_project_path(file, {{"TROUPE_PROJECT", "blue"}}),
            (dir / "projects" / "blue" / "app.toml").string());
  app_sources src;
  src.file = file;
  src.env = {{"TROUPE_PROJECT", "blue"}};
  auto r = load_app(src, test_types());
  ASSERT_TRUE(r.ok()) << all(r.errors);
  EXPECT_EQ(r.config.name, "blue");
  fs::remove_all(dir);
}

TEST(app_config, missing_file_is_one_clear_error) {
  app_sources src;
  src.file = "/nonexistent/app.toml";
  auto r = load_app(src, test_types());
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].to_string(),
            "/nonexistent/app.toml: cannot read file: No such file or "
            "directory");
}

TEST(app_config, reference_lists_every_type_and_key) {
  auto doc = render_reference(test_types());
  for (auto* needle :
       {"## `[app]`", "## `[control]`", "## `[services.NAME]`", "### `gen`",
        "### `sink`", "| `rate` | integer >= 1 | `10` | Numbers per second |",
        "| `endpoints.NAME.socket` | one of pub, sub | required |",
        "| `shutdown_timeout` | duration >= 0s | `\"10s\"` |"})
    EXPECT_NE(doc.find(needle), std::string::npos) << needle << "\n" << doc;
}
