// Fuzzes app config loading: TOML text in, load_app with a small catalog of
// service types, render_effective out.
//
// The input is the TOML text. Comment lines also carry overrides, so that
// one input exercises every layer:
//   #set services.tick.period=1s     a `--set` assignment
//   #env TROUPE_APP__NAME=x          an environment variable
// In both, \n \r \t \\ and \xHH (HH below 80) are unescaped, so overrides
// can hold control characters; the rest of the line is taken as is.
//
// Besides "never crashes", checks what load_app and render_effective
// promise: a loaded config renders to TOML that loads back to the same
// values, and start_order() lists every service once, after its
// dependencies.

#include "troupe/config/app_config.hpp"
#include "troupe/config/duration.hpp"
#include "troupe/config/render.hpp"
#include "troupe/config/schema.hpp"

#include "invariant.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

using namespace troupe::config;
using namespace std::chrono_literals;

namespace {

// Two types shaped like the demo's, with one field of every kind.
type_catalog make_catalog() {
  type_catalog types;
  schema ticker{"Publishes ticks"};
  ticker.duration("period", "Time between ticks")
    .fallback(duration{250ms})
    .at_least(0.000001);
  ticker.string("topic", "Topic").fallback("demo.tick");
  ticker.integer("rate", "Ticks per period")
    .fallback(1)
    .at_least(1)
    .at_most(1000);
  ticker.string("codec", "Payload encoding")
    .fallback("json")
    .one_of({"json", "raw"});
  types.emplace("ticker", std::move(ticker));
  schema counter{"Counts ticks"};
  counter.string("topic", "Topic prefix").fallback("demo.tick");
  counter.duration("stale_after", "Degraded after").fallback(duration{2s});
  counter.list("tags", "Labels").of(value_kind::string).fallback(list{});
  counter.list("weights", "Weights").of(value_kind::floating);
  counter.list("windows", "Windows").of(value_kind::duration);
  counter.floating("ratio", "Ratio").at_least(0).at_most(1);
  counter.boolean("strict", "Strict").fallback(false);
  auto& endpoints = counter.entries("endpoints", "Sockets by name");
  endpoints.string("socket", "Socket type")
    .require()
    .one_of({"pub", "sub", "push", "pull"});
  endpoints.string("address", "Address").fallback("");
  endpoints.integer("hwm", "High-water mark").fallback(1000).at_least(0);
  endpoints.duration("linger", "Linger").fallback(duration{0s});
  types.emplace("counter", std::move(counter));
  return types;
}

const type_catalog& catalog() {
  static const type_catalog instance = make_catalog();
  return instance;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

std::string unescape(std::string_view in) {
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '\\' || i + 1 == in.size()) {
      out += in[i];
      continue;
    }
    switch (in[i + 1]) {
    case 'n':
      out += '\n';
      ++i;
      break;
    case 'r':
      out += '\r';
      ++i;
      break;
    case 't':
      out += '\t';
      ++i;
      break;
    case '\\':
      out += '\\';
      ++i;
      break;
    case 'x':
      if (i + 3 < in.size() && hex_digit(in[i + 2]) >= 0 &&
          hex_digit(in[i + 2]) < 8 && hex_digit(in[i + 3]) >= 0) {
        out +=
          static_cast<char>(hex_digit(in[i + 2]) * 16 + hex_digit(in[i + 3]));
        i += 3;
        break;
      }
      [[fallthrough]];
    default:
      out += in[i];
    }
  }
  return out;
}

app_sources sources_of(std::string_view text) {
  app_sources src;
  src.text = std::string{text};
  size_t pos = 0;
  while (pos < text.size()) {
    auto end = text.find('\n', pos);
    auto line = text.substr(pos, end - pos);
    pos = end == std::string_view::npos ? text.size() : end + 1;
    if (line.substr(0, 5) == "#set ") {
      src.sets.push_back(unescape(line.substr(5)));
    } else if (line.substr(0, 5) == "#env ") {
      auto var = unescape(line.substr(5));
      auto eq = var.find('=');
      if (eq != std::string::npos)
        src.env.emplace_back(var.substr(0, eq), var.substr(eq + 1));
    }
  }
  return src;
}

void check_start_order(const app_config& cfg) {
  auto order = cfg.start_order();
  TROUPE_FUZZ_REQUIRE(order.size() == cfg.services.size());
  for (size_t i = 0; i < order.size(); ++i) {
    auto spec = cfg.services.find(order[i]);
    TROUPE_FUZZ_REQUIRE(spec != cfg.services.end());
    for (size_t j = 0; j < i; ++j)
      TROUPE_FUZZ_REQUIRE(order[j] != order[i]);
    // Load rejects cycles, so every dependency comes first.
    for (auto& dep : spec->second.depends_on) {
      bool earlier = false;
      for (size_t j = 0; j < i; ++j)
        earlier = earlier || order[j] == dep;
      TROUPE_FUZZ_REQUIRE(earlier);
    }
  }
}

// render_effective promises TOML that parses back to the same values.
void check_render_round_trip(const app_load_result& first,
                             const std::string& rendered) {
  app_sources again;
  again.text = rendered;
  auto second = load_app(again, catalog());
  if (!second.ok()) {
    std::fprintf(stderr, "rendered config does not load:\n%s\n",
                 rendered.c_str());
    for (auto& e : second.errors)
      std::fprintf(stderr, "  %s\n", e.to_string().c_str());
  }
  TROUPE_FUZZ_REQUIRE(second.ok());
  // Compared as text: a NaN setting is not equal to itself.
  auto before = to_toml(first.config.layers.values());
  auto after = to_toml(second.config.layers.values());
  if (before != after)
    std::fprintf(stderr, "values changed by rendering:\n%s\n%s\n",
                 before.c_str(), after.c_str());
  TROUPE_FUZZ_REQUIRE(before == after);
  auto changes = diff(first.config, second.config);
  TROUPE_FUZZ_REQUIRE(changes.added.empty() && changes.removed.empty() &&
                      changes.replaced.empty());
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text{reinterpret_cast<const char*>(data), size};
  auto result = load_app(sources_of(text), catalog());
  for (auto& e : result.errors)
    (void)e.to_string();
  auto rendered = render_effective(result.config.layers);
  if (!result.ok())
    return 0;
  check_start_order(result.config);
  check_render_round_trip(result, rendered);
  return 0;
}
