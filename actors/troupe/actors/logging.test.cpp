#define CAF_SUITE logging

#include "troupe/actors/logging.hpp"

#include <string>

#include <caf/test/unit_test.hpp>

#include "troupe/actors/detail/log_sinks.hpp"

using namespace troupe;

namespace {

std::string escaped(std::string_view x) {
  spdlog::memory_buf_t out;
  detail::append_json_escaped(x, out);
  return {out.data(), out.size()};
}

} // namespace

CAF_TEST(json escaping keeps valid UTF - 8 and escapes the rest) {
  CAF_CHECK_EQUAL(escaped("plain"), "plain");
  CAF_CHECK_EQUAL(escaped("a \"q\" \\ b"), "a \\\"q\\\" \\\\ b");
  CAF_CHECK_EQUAL(escaped("l1\nl2\r\t"), "l1\\nl2\\r\\t");
  CAF_CHECK_EQUAL(escaped(std::string{"\x01\x1f\x7f", 3}),
                  "\\u0001\\u001f\\u007f");
  CAF_CHECK_EQUAL(escaped(std::string{"nul\0x", 5}), "nul\\u0000x");
  CAF_CHECK_EQUAL(escaped("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x8e\xad"),
                  "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x8e\xad");
  // A lone continuation byte, a truncated sequence, an overlong '/', a
  // surrogate: each invalid byte becomes U+FFFD, the rest survives.
  CAF_CHECK_EQUAL(escaped("a\x80z"), "a\\ufffdz");
  CAF_CHECK_EQUAL(escaped("\xe2\x82"), "\\ufffd\\ufffd");
  CAF_CHECK_EQUAL(escaped("\xc0\xaf"), "\\ufffd\\ufffd");
  CAF_CHECK_EQUAL(escaped("\xed\xa0\x80"), "\\ufffd\\ufffd\\ufffd");
}

CAF_TEST(log formats parse by name) {
  CAF_CHECK(parse_log_format("text") == log_format::text);
  CAF_CHECK(parse_log_format("json") == log_format::json);
  CAF_CHECK(!parse_log_format("JSON").has_value());
}
