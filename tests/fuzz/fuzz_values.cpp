// Fuzzes the config layer's text parsers: durations, text overrides
// (booleans, integers, floats, lists) and `--set` assignments. The whole
// input is the text given to each of them.
//
// Besides "never crashes", checks round trips: a parsed duration formats to
// text that parses back to it (and so does any non-negative duration), a
// parsed integer or float prints to text that parses back to it, and a
// successful `--set` stores its text at its path with a CLI origin.

#include "troupe/config/duration.hpp"
#include "troupe/config/layered_config.hpp"
#include "troupe/config/render.hpp"
#include "troupe/config/schema.hpp"
#include "troupe/config/text_value.hpp"

#include "invariant.hpp"

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

using namespace troupe::config;

namespace {

void check_duration_round_trip(duration d) {
  auto text = format_duration(d);
  auto back = parse_duration(text);
  if (!back || *back != d)
    std::fprintf(stderr, "duration %lld formats as '%s'\n",
                 static_cast<long long>(d.count()), text.c_str());
  TROUPE_FUZZ_REQUIRE(back && *back == d);
}

void fuzz_duration(std::string_view text, const uint8_t* data, size_t size) {
  if (auto d = parse_duration(text)) {
    TROUPE_FUZZ_REQUIRE(d->count() >= 0);
    check_duration_round_trip(*d);
  }
  // Any non-negative duration round-trips, not just parsed ones.
  if (size >= 8) {
    uint64_t bits = 0;
    std::memcpy(&bits, data, sizeof(bits));
    check_duration_round_trip(duration{static_cast<int64_t>(bits >> 1)});
  }
}

// What parse_integer_text promises to accept: optional space, an optional
// sign, decimal digits, optional space.
bool integer_shaped(std::string_view text) {
  auto space = [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
           c == '\f';
  };
  while (!text.empty() && space(text.front()))
    text.remove_prefix(1);
  while (!text.empty() && space(text.back()))
    text.remove_suffix(1);
  if (!text.empty() && (text.front() == '+' || text.front() == '-'))
    text.remove_prefix(1);
  if (text.empty())
    return false;
  for (char c : text)
    if (c < '0' || c > '9')
      return false;
  return true;
}

void fuzz_numbers(std::string_view text) {
  (void)parse_bool_text(text);
  auto i = parse_integer_text(text);
  auto f = parse_float_text(text);
  if (i) {
    TROUPE_FUZZ_REQUIRE(integer_shaped(text));
    TROUPE_FUZZ_REQUIRE(parse_integer_text(std::to_string(*i)) == i);
    // Both conversions round to nearest, so they agree.
    TROUPE_FUZZ_REQUIRE(f && *f == static_cast<double>(*i));
  }
  if (f && std::isfinite(*f)) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.17g", *f);
    auto back = parse_float_text(buf);
    TROUPE_FUZZ_REQUIRE(back && *back == *f);
  }
}

void fuzz_list(std::string_view text) {
  auto xs = parse_list_text(text);
  if (!xs)
    return;
  for (auto& x : *xs)
    TROUPE_FUZZ_REQUIRE(x.kind() != value_kind::none &&
                        x.kind() != value_kind::list &&
                        x.kind() != value_kind::table);
}

const schema& set_schema() {
  static const schema instance = [] {
    schema s;
    auto& app = s.section("app", "");
    app.string("name", "").fallback("x");
    app.duration("period", "").fallback(duration{1000}).at_least(0);
    app.integer("rate", "").fallback(1).at_least(1).at_most(100);
    app.floating("ratio", "").fallback(0.5);
    app.boolean("on", "").fallback(true);
    app.list("tags", "").of(value_kind::string);
    app.list("delays", "").of(value_kind::duration);
    auto& items = s.entries("items", "");
    items.integer("n", "").require();
    return s;
  }();
  return instance;
}

// A small file that every assignment lands on, parsed once.
const layered_config& base_config() {
  static const layered_config instance = [] {
    layered_config cfg;
    auto errors =
      cfg.parse_toml("[app]\nname = \"x\"\n[items.a]\nn = 1\n", "base.toml");
    TROUPE_FUZZ_REQUIRE(errors.empty());
    return cfg;
  }();
  return instance;
}

void fuzz_set(std::string_view text) {
  auto cfg = base_config();
  auto errors = cfg.apply_set(text);
  auto eq = text.find('=');
  if (eq == std::string_view::npos)
    TROUPE_FUZZ_REQUIRE(!errors.empty());
  if (errors.empty()) {
    auto path = text.substr(0, eq);
    auto* v = find(cfg.values(), path);
    TROUPE_FUZZ_REQUIRE(v != nullptr);
    auto* s = v->get_if<std::string>();
    TROUPE_FUZZ_REQUIRE(s != nullptr && *s == text.substr(eq + 1));
    auto* o = cfg.origin_of(path);
    TROUPE_FUZZ_REQUIRE(o != nullptr && o->kind == origin_kind::cli);
  }
  for (auto& e : cfg.validate(set_schema()))
    (void)e.to_string();
  (void)render_effective(cfg);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text{reinterpret_cast<const char*>(data), size};
  fuzz_duration(text, data, size);
  fuzz_numbers(text);
  fuzz_list(text);
  fuzz_set(text);
  return 0;
}
