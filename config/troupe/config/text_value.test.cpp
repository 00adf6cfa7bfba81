#include "troupe/config/text_value.hpp"

#include <gtest/gtest.h>

using namespace troupe::config;

// Caught by the integer-shape check of fuzz_values (saved as
// tests/fuzz/regressions/fuzz_values/integer-plus-minus): the '+' was dropped
// before from_chars, which then read "-5" out of "+-5".
TEST(text_value, one_sign_at_most) {
  EXPECT_EQ(parse_integer_text("+5"), 5);
  EXPECT_EQ(parse_integer_text(" -5 "), -5);
  EXPECT_FALSE(parse_integer_text("+-5"));
  EXPECT_FALSE(parse_integer_text("-+5"));
  EXPECT_FALSE(parse_integer_text("++5"));
  EXPECT_FALSE(parse_integer_text("+"));
  EXPECT_EQ(parse_float_text("+0.5"), 0.5);
  EXPECT_EQ(parse_float_text("-0.5"), -0.5);
  EXPECT_FALSE(parse_float_text("+-0.5"));
  EXPECT_FALSE(parse_float_text("+-inf"));
  EXPECT_FALSE(parse_float_text("+"));
}
