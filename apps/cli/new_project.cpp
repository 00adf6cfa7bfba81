// The templates of `troupe new service NAME`: a CMake project on
// find_package(troupe) with one service type (a setting, a domain request, a
// bus subscription, a periodic task), its test on virtual time, the plugin
// entry point and an app file that runs it under `troupe run`.

#include "new_project.hpp"

#include <string_view>

namespace troupe::cli {

namespace {

// Replaces every @NAME@, @VERSION@ and @PREFIX_ARG@ in `text`.
std::string expand(std::string_view text, const std::string& name,
                   const std::string& version, const std::string& prefix) {
  const std::pair<std::string_view, std::string> vars[] = {
    {"@NAME@", name},
    {"@VERSION@", version},
    {"@PREFIX_ARG@",
     prefix.empty() ? std::string{} : " -DCMAKE_PREFIX_PATH=" + prefix},
  };
  std::string out;
  size_t pos = 0;
  while (pos < text.size()) {
    auto at = text.find('@', pos);
    if (at == std::string_view::npos) {
      out.append(text.substr(pos));
      break;
    }
    out.append(text.substr(pos, at - pos));
    bool replaced = false;
    for (auto& [key, value] : vars) {
      if (text.substr(at, key.size()) == key) {
        out += value;
        pos = at + key.size();
        replaced = true;
        break;
      }
    }
    if (!replaced) {
      out += '@';
      pos = at + 1;
    }
  }
  return out;
}

constexpr std::string_view cmake_lists =
  R"tmpl(cmake_minimum_required(VERSION 3.20)
project(@NAME@ LANGUAGES CXX)

# troupe's CMake package: troupe::actors, troupe::testing, troupe_add_plugin.
find_package(troupe @VERSION@ REQUIRED)
enable_testing()

# The service type as a plugin of `troupe run`: build/lib@NAME@.so, which
# the app file names.
troupe_add_plugin(@NAME@ SOURCES src/@NAME@_plugin.cpp)

# Its deterministic test on virtual time (CAF's test coordinator).
add_executable(@NAME@-test tests/@NAME@.test.cpp)
target_include_directories(@NAME@-test PRIVATE src)
target_link_libraries(@NAME@-test PRIVATE troupe::testing)
add_test(NAME @NAME@.unit COMMAND @NAME@-test -n -v 4)
)tmpl";

constexpr std::string_view service_header = R"tmpl(#pragma once

// A service type as `troupe new` wrote it; make it yours. It has
// - a setting: `greeting` ("hello" unless the app file says);
// - a domain request: (greet_atom, who) answers "<greeting>, <who>!";
// - a bus subscription: each text published on `topic_in` is greeted on
//   `topic_out`;
// - a periodic task: every `period` it publishes on `topic_count` how many
//   it greeted.

#include <chrono>
#include <cstdint>
#include <string>
#include <tuple>

#include <caf/atom.hpp>
#include <caf/replies_to.hpp>
#include <troupe/actors/register_service.hpp>

using greet_atom = caf::atom_constant<caf::atom("greet")>;

class @NAME@ : public troupe::service {
public:
  /// The type's name in app files (`type = "..."`).
  static constexpr const char* type_name = "@NAME@";
  /// Where it takes texts to greet.
  static constexpr const char* topic_in = "@NAME@.in";
  /// Where the greetings go.
  static constexpr const char* topic_out = "@NAME@.out";
  /// Where the count goes.
  static constexpr const char* topic_count = "@NAME@.count";

  /// The lifecycle interface plus this type's own request.
  using interface = troupe::service_actor::extend<
    caf::replies_to<greet_atom, std::string>::with<std::string>>;

  /// The settings: checked, and filled with defaults, before on_configure.
  static troupe::config::schema type_schema() {
    troupe::config::schema s{"Greets whoever asks (troupe new)"};
    s.string("greeting", "How to greet").fallback("hello");
    s.duration("period", "How often to publish the count")
      .fallback(troupe::config::duration{std::chrono::seconds{1}});
    return s;
  }

  const troupe::config::schema* settings_schema() const override {
    static const auto s = type_schema();
    return &s;
  }

  /// One handler per request of `interface`; called only while running.
  auto handlers() {
    return std::make_tuple(
      [this](greet_atom, const std::string& who) { return greet(who); });
  }

  troupe::hook_result on_configure(const troupe::settings& cfg) override {
    greeting_ = *cfg.get<std::string>("greeting");
    period_ = *cfg.get<troupe::config::duration>("period");
    if (greeting_.empty())
      return troupe::hook_result::refuse("greeting must not be empty");
    return troupe::hook_result::success();
  }

  troupe::hook_result on_start() override {
    // Subscriptions and tasks belong to this run: they end on stop.
    subscribe<std::string>(topic_in,
                           [this](const std::string&, const std::string& who) {
                             publish(topic_out, greet(who));
                           });
    every(period_, [this] { publish(topic_count, greeted_); });
    log().info("greeting with '{}'", greeting_);
    return troupe::hook_result::success();
  }

private:
  std::string greet(const std::string& who) {
    ++greeted_;
    return greeting_ + ", " + who + "!";
  }

  std::string greeting_;
  troupe::config::duration period_{};
  int64_t greeted_ = 0;
};
)tmpl";

constexpr std::string_view plugin_source =
  R"tmpl(// The plugin's entry point: `troupe run` loads the library (see the app
// file's `[app] plugins`) and calls it to register the library's types.
#include "@NAME@.hpp"

TROUPE_PLUGIN(reg) {
  using type = @NAME@;
  reg.add(
    troupe::service_type_of<type>(type::type_name, "Greets (troupe new)"));
}
)tmpl";

constexpr std::string_view test_source =
  R"tmpl(// The service tested deterministically: CAF's test coordinator runs every
// actor in this thread and time moves only when the test says.
#define CAF_SUITE @NAME@
#define CAF_TEST_NO_MAIN
#include <caf/test/unit_test_impl.hpp>

#include <troupe/actors/logging.hpp>
#include <troupe/actors/testing.hpp>
#include <troupe/actors/topic_bus.hpp>

#include "@NAME@.hpp"

using namespace std::chrono_literals;

namespace {

using service_under_test = @NAME@;

// A service fixture with a local topic bus for the service to use.
struct fixture : troupe::testing::service_fixture {
  troupe::bus_actor bus = troupe::spawn_topic_bus(sys);

  // The bus and its subscribers hold each other; ending the bus breaks the
  // cycle so that the actor system can shut down.
  ~fixture() override {
    caf::anon_send_exit(bus, caf::exit_reason::user_shutdown);
    run();
  }

  service_under_test::interface spawn() {
    auto name = service_under_test::type_name;
    return troupe::spawn_service<service_under_test>(sys, {name, name, bus});
  }

  service_under_test::interface spawn_started(const std::string& greeting) {
    auto svc = spawn();
    troupe::config::table cfg{{"greeting", greeting}, {"period", "2s"}};
    CAF_REQUIRE(configure(svc, troupe::settings{cfg}));
    CAF_REQUIRE(start(svc));
    return svc;
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(@NAME@_tests, fixture)

CAF_TEST(answers a greet request with the configured greeting) {
  auto svc = spawn_started("Ahoy");
  auto r = call<std::string>(svc, greet_atom::value, std::string{"Ada"});
  CAF_REQUIRE(r);
  CAF_CHECK_EQUAL(*r, "Ahoy, Ada!");
}

CAF_TEST(greets what arrives on the bus and counts on virtual time) {
  auto svc = spawn_started("Hi");
  for (auto who : {"Ada", "Bob"})
    self->send(bus, troupe::publish_atom::value,
               std::string{service_under_test::topic_in},
               caf::make_message(std::string{who}));
  consume_messages();
  CAF_CHECK_EQUAL(status(svc).messages_in, 2u);
  // Each greeting went out on the bus; the count goes out every 2 s.
  auto out_before = status(svc).messages_out;
  CAF_CHECK_EQUAL(out_before, 2u);
  advance_time(2s);
  consume_messages();
  CAF_CHECK_EQUAL(status(svc).messages_out, out_before + 1);
}

CAF_TEST(refuses an empty greeting) {
  auto svc = spawn();
  auto empty = troupe::config::table{{"greeting", ""}};
  auto r = configure(svc, troupe::settings{empty});
  CAF_REQUIRE(!r);
  CAF_CHECK(troupe::is(r.error(), troupe::errc::hook_refused));
}

CAF_TEST_FIXTURE_SCOPE_END()

int main(int argc, char** argv) {
  troupe::init_logging_for_tests();
  return caf::test::main(argc, argv);
}
)tmpl";

constexpr std::string_view app_file =
  R"tmpl(# @NAME@ under `troupe run`, as a plugin. Build first (README.md), then
#   troupe run @NAME@.toml
# Every key: `troupe config @NAME@.toml`; overrides: --set KEY=VALUE.
[app]
name = "@NAME@"
# Relative to this file.
plugins = ["build/lib@NAME@.so"]

[services.@NAME@]
type = "@NAME@"
greeting = "hello"
period = "1s"
)tmpl";

constexpr std::string_view readme = R"tmpl(# @NAME@

A troupe service type, written by `troupe new service @NAME@`.

- `src/@NAME@.hpp`: the service type (a setting, a request, a bus
  subscription, a periodic task).
- `src/@NAME@_plugin.cpp`: registers it when `troupe run` loads the plugin.
- `tests/@NAME@.test.cpp`: its test on virtual time.
- `@NAME@.toml`: an app that runs it.

Build, test and run (troupe @VERSION@ installed):

```sh
cmake -S . -B build@PREFIX_ARG@
cmake --build build
ctest --test-dir build --output-on-failure
troupe run @NAME@.toml            # Ctrl-C stops; --duration 5s stops by itself
```

To run it from an executable of your own instead of a plugin, link
`troupe::app` and call `troupe::app::run_main` (see troupe's
docs/services.md, "Your own project").
)tmpl";

} // namespace

bool valid_service_name(const std::string& name) {
  if (name.empty() || name.size() > 24 || name[0] < 'a' || name[0] > 'z')
    return false;
  // The name becomes a class: no keyword, no name the project already uses.
  static constexpr std::string_view taken[] = {
    "alignas",      "alignof",   "and",
    "and_eq",       "asm",       "auto",
    "bitand",       "bitor",     "bool",
    "break",        "case",      "catch",
    "char",         "class",     "compl",
    "const",        "constexpr", "const_cast",
    "continue",     "decltype",  "default",
    "delete",       "do",        "double",
    "dynamic_cast", "else",      "enum",
    "explicit",     "export",    "extern",
    "false",        "float",     "for",
    "friend",       "goto",      "if",
    "inline",       "int",       "long",
    "mutable",      "namespace", "new",
    "noexcept",     "not",       "not_eq",
    "nullptr",      "operator",  "or",
    "or_eq",        "private",   "protected",
    "public",       "register",  "reinterpret_cast",
    "return",       "short",     "signed",
    "sizeof",       "static",    "static_assert",
    "static_cast",  "struct",    "switch",
    "template",     "this",      "thread_local",
    "throw",        "true",      "try",
    "typedef",      "typeid",    "typename",
    "union",        "unsigned",  "using",
    "virtual",      "void",      "volatile",
    "wchar_t",      "while",     "xor",
    "xor_eq",       "main",      "fixture",
    "greet_atom",   "troupe",    "caf",
    "std",          "type",      "service_under_test"};
  for (auto word : taken)
    if (name == word)
      return false;
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
      return false;
  return true;
}

std::vector<project_file> service_project(const std::string& name,
                                          const std::string& version,
                                          const std::string& prefix) {
  auto x = [&](std::string_view text) {
    return expand(text, name, version, prefix);
  };
  return {
    {"CMakeLists.txt", x(cmake_lists)},
    {"README.md", x(readme)},
    {name + ".toml", x(app_file)},
    {"src/" + name + ".hpp", x(service_header)},
    {"src/" + name + "_plugin.cpp", x(plugin_source)},
    {"tests/" + name + ".test.cpp", x(test_source)},
  };
}

} // namespace troupe::cli
