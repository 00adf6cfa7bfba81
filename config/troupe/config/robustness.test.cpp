// Parsing from a string never throws, whatever the input: random bytes,
// mutations of a valid file, and overrides of every shape.

#include "troupe/config/app_config.hpp"
#include "troupe/config/duration.hpp"
#include "troupe/config/render.hpp"
#include "troupe/config/text_value.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>

using namespace troupe::config;
using namespace std::string_literals;

namespace {

const char* valid_file = R"([app]
name = "demo"
log_level = "debug"
shutdown_timeout = "3s"

[services.g]
type = "gen"
rate = 5
topics = ["a", "b"]
depends_on = ["s"]

[services.g.endpoints.in]
socket = "pub"

[services.s]
type = "sink"
)";

type_catalog types() {
  type_catalog t;
  schema gen{"gen"};
  gen.integer("rate", "").fallback(1).at_least(1);
  gen.list("topics", "").of(value_kind::string);
  gen.entries("endpoints", "").string("socket", "").require();
  t.emplace("gen", std::move(gen));
  t.emplace("sink", schema{"sink"});
  return t;
}

void load_text(const std::string& text, std::vector<std::string> sets = {}) {
  app_sources src;
  src.file = "fuzz.toml";
  src.text = text;
  src.sets = std::move(sets);
  auto r = load_app(src, types());
  // Render whatever came out, too: it must not throw either.
  (void)render_effective(r.config.layers);
  for (auto& e : r.errors)
    (void)e.to_string();
}

} // namespace

TEST(robustness, valid_seed_loads) {
  app_sources src;
  src.text = valid_file;
  auto r = load_app(src, types());
  EXPECT_TRUE(r.ok());
}

TEST(robustness, random_bytes_never_throw) {
  std::mt19937 rng{12345};
  std::uniform_int_distribution<int> byte{0, 255};
  std::uniform_int_distribution<size_t> len{0, 200};
  for (int i = 0; i < 2000; ++i) {
    std::string text(len(rng), '\0');
    for (auto& c : text)
      c = static_cast<char>(byte(rng));
    EXPECT_NO_THROW(load_text(text)) << i;
  }
}

TEST(robustness, mutations_of_a_valid_file_never_throw) {
  std::mt19937 rng{777};
  std::string seed = valid_file;
  // A std::string literal: a plain one would end at the NUL and leave it out.
  const std::string alphabet = "[]{}=\"'.,#\n \\abc0123456789-_:TtFf\xff\x00"s;
  std::uniform_int_distribution<size_t> pick{0, alphabet.size() - 1};
  for (int i = 0; i < 3000; ++i) {
    auto text = seed;
    std::uniform_int_distribution<int> edits{1, 6};
    for (int e = edits(rng); e > 0; --e) {
      std::uniform_int_distribution<size_t> pos{0, text.size()};
      auto p = pos(rng);
      switch (rng() % 3) {
      case 0:
        text.insert(p, 1, alphabet[pick(rng)]);
        break;
      case 1:
        if (p < text.size())
          text.erase(p, 1);
        break;
      default:
        if (p < text.size())
          text[p] = alphabet[pick(rng)];
      }
    }
    EXPECT_NO_THROW(load_text(text)) << text;
  }
}

TEST(robustness, odd_overrides_never_throw) {
  const std::vector<std::string> sets = {"",
                                         "=",
                                         "a",
                                         ".=1",
                                         "a..b=1",
                                         "app=",
                                         "app.name=",
                                         "app.name.x=1",
                                         "services.g=1",
                                         "services=1",
                                         "services.g.topics=[",
                                         "services.g.topics=[1,",
                                         "services.g.rate=1e99",
                                         "services.g.rate=99999999999999999999",
                                         "services.g.endpoints=x",
                                         "services.g.endpoints.in=x",
                                         "app.shutdown_timeout=-1s",
                                         "app.shutdown_timeout=1e400s",
                                         " app.name =x"};
  for (auto& s : sets)
    EXPECT_NO_THROW(load_text(valid_file, {s})) << s;
}

TEST(robustness, text_parsers_reject_garbage) {
  EXPECT_FALSE(parse_integer_text("12x"));
  EXPECT_FALSE(parse_integer_text(""));
  EXPECT_FALSE(parse_integer_text("99999999999999999999"));
  EXPECT_EQ(parse_integer_text(" +7 "), 7);
  EXPECT_EQ(parse_integer_text("-7"), -7);
  EXPECT_FALSE(parse_float_text("1.5.2"));
  EXPECT_EQ(parse_float_text("1e3"), 1000.0);
  EXPECT_EQ(parse_bool_text("ON"), true);
  EXPECT_EQ(parse_bool_text("0"), false);
  EXPECT_FALSE(parse_bool_text("maybe"));
  EXPECT_FALSE(parse_list_text("[1,"));
  EXPECT_EQ(parse_list_text(""), list{});
  EXPECT_EQ(parse_list_text("a,,b"), (list{"a", "", "b"}));
  EXPECT_EQ(parse_list_text("[1, \"x\"]"), (list{1, "x"}));
}
