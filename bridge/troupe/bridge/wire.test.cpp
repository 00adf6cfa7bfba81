#include "troupe/bridge/wire.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>

using namespace troupe::bridge;
using namespace std::string_view_literals;

namespace {

frame_error check(const std::vector<std::string_view>& frames, bool json = true,
                  size_t max = 1024) {
  wire_message out;
  return check_frames(frames, max, json, out);
}

} // namespace

TEST(wire, accepts_two_and_three_frames) {
  wire_message out;
  std::vector<std::string_view> two{"echo.x", R"({"a":1})"};
  ASSERT_EQ(check_frames(two, 1024, true, out), frame_error::none);
  EXPECT_EQ(out.topic, "echo.x");
  EXPECT_EQ(out.payload, R"({"a":1})");
  EXPECT_FALSE(out.has_meta);
  std::vector<std::string_view> three{"t", "1", R"({"seq":3,"src":"p"})"};
  ASSERT_EQ(check_frames(three, 1024, true, out), frame_error::none);
  EXPECT_TRUE(out.has_meta);
  EXPECT_EQ(out.meta, R"({"seq":3,"src":"p"})");
}

TEST(wire, names_every_malformed_input) {
  struct {
    std::vector<std::string_view> frames;
    bool json;
    frame_error expected;
  } cases[] = {
    {{}, true, frame_error::no_frames},
    {{"t"}, true, frame_error::missing_payload},
    {{"t", "1", "{}", "x"}, true, frame_error::too_many_frames},
    {{"", "1"}, true, frame_error::empty_topic},
    {{"\xff\xfe", "1"}, true, frame_error::topic_not_utf8},
    {{"\xc0\xaf", "1"}, true, frame_error::topic_not_utf8},     // overlong '/'
    {{"\xed\xa0\x80", "1"}, true, frame_error::topic_not_utf8}, // surrogate
    {{"t", "{not json"}, true, frame_error::invalid_json},
    {{"t", "{not json"}, false, frame_error::none}, // raw codec
    {{"t", "1", "[1]"}, true, frame_error::invalid_meta},
    {{"t", "1", "nope"}, true, frame_error::invalid_meta},
  };
  for (auto& c : cases)
    EXPECT_EQ(check(c.frames, c.json), c.expected)
      << "expected " << to_string(c.expected);
  std::string big(2000, 'x');
  EXPECT_EQ(check({"t", big}, false, 1024), frame_error::too_large);
}

TEST(wire, meta_is_exactly_one_json_object) {
  EXPECT_EQ(check({"t", "1", R"({"seq":1})"}), frame_error::none);
  EXPECT_EQ(check({"t", "1", " \n{}\t"}), frame_error::none);
  EXPECT_EQ(check({"t", "1", "\xEF\xBB\xBF{}"}), frame_error::none); // BOM
  EXPECT_EQ(check({"t", "1", R"("{")"}), frame_error::invalid_meta);
  EXPECT_EQ(check({"t", "1", "{} {}"}), frame_error::invalid_meta);
  EXPECT_EQ(check({"t", "1", "{"}), frame_error::invalid_meta);
  EXPECT_EQ(check({"t", "1", " "}), frame_error::invalid_meta);
  EXPECT_EQ(check({"t", "1", ""}), frame_error::invalid_meta);
}

TEST(wire, utf8_accepts_multibyte_text) {
  EXPECT_TRUE(is_utf8("plain"));
  EXPECT_TRUE(is_utf8("caf\xc3\xa9"));       // é
  EXPECT_TRUE(is_utf8("\xe2\x82\xac"));      // €
  EXPECT_TRUE(is_utf8("\xf0\x9f\x8e\xad"));  // 🎭
  EXPECT_FALSE(is_utf8("\xf4\x90\x80\x80")); // above U+10FFFF
  EXPECT_FALSE(is_utf8("\xe2\x82"));         // truncated
}

TEST(wire, random_bytes_never_crash) {
  std::mt19937 rng{42};
  std::uniform_int_distribution<int> byte{0, 255};
  std::uniform_int_distribution<int> count{0, 5};
  std::uniform_int_distribution<int> len{0, 64};
  for (int i = 0; i < 20000; ++i) {
    std::vector<std::string> storage(count(rng));
    for (auto& s : storage) {
      s.resize(len(rng));
      for (auto& ch : s)
        ch = static_cast<char>(byte(rng));
    }
    std::vector<std::string_view> frames(storage.begin(), storage.end());
    wire_message out;
    auto r = check_frames(frames, 48, i % 2 == 0, out);
    if (r == frame_error::none) {
      EXPECT_GE(frames.size(), 2u);
      EXPECT_LE(frames.size(), 3u);
    }
  }
}

TEST(wire, meta_frames_round_trip) {
  meta_frame m{7, "node-a", 1700000000123456789};
  auto text = encode_meta(m);
  EXPECT_EQ(text, R"({"seq":7,"src":"node-a","ts":1700000000123456789})");
  auto back = decode_meta(text);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->seq, 7u);
  EXPECT_EQ(back->src, "node-a");
  EXPECT_EQ(back->ts, 1700000000123456789);
}

TEST(wire, meta_frames_without_an_unsigned_seq_are_not_read) {
  EXPECT_FALSE(decode_meta(""));
  EXPECT_FALSE(decode_meta("not json"));
  EXPECT_FALSE(decode_meta("[1]"));
  EXPECT_FALSE(decode_meta(R"({"src":"a"})"));
  EXPECT_FALSE(decode_meta(R"({"seq":-1})"));
  EXPECT_FALSE(decode_meta(R"({"seq":1.5})"));
  EXPECT_FALSE(decode_meta(R"({"seq":"1"})"));
  // What else is missing or mistyped is left empty.
  auto m = decode_meta(R"({"seq":3,"src":5,"ts":"x"})");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->seq, 3u);
  EXPECT_EQ(m->src, "");
  EXPECT_EQ(m->ts, 0);
}
