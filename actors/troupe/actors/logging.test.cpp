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

namespace {

// One record through the JSON formatter, as the sinks write it.
std::string json_record(std::string_view text) {
  spdlog::details::log_msg msg{"svc", spdlog::level::warn,
                               spdlog::string_view_t{text.data(), text.size()}};
  spdlog::memory_buf_t out;
  detail::json_log_formatter{}.format(msg, out);
  return {out.data(), out.size()};
}

std::string fields_of(const std::string& record) {
  auto at = record.find("\"fields\":{");
  return at == std::string::npos ? std::string{} : record.substr(at);
}

} // namespace

CAF_TEST(log fields go into the json record and end with their scope) {
  auto bare = fields_of(json_record("m"));
  CAF_CHECK(bare.find("\"pid\":") != std::string::npos);
  CAF_CHECK(bare.find("\"endpoint\"") == std::string::npos);
  {
    log_fields outer{{"endpoint", "in \"x\"\n"}, {"count", 3}};
    auto one = fields_of(json_record("m"));
    CAF_CHECK(one.find(",\"endpoint\":\"in \\\"x\\\"\\n\",\"count\":3}") !=
              std::string::npos);
    {
      // Inner scopes add fields; the innermost of a key wins; pid stays.
      log_fields inner{{"count", uint64_t{7}}, {"pid", "fake"}};
      auto two = fields_of(json_record("m"));
      CAF_CHECK(two.find("\"count\":7}") != std::string::npos);
      CAF_CHECK(two.find("\"count\":3") == std::string::npos);
      CAF_CHECK(two.find("fake") == std::string::npos);
      CAF_CHECK_EQUAL(log_fields::current().size(), 4u);
    }
    CAF_CHECK_EQUAL(log_fields::current().size(), 2u);
    CAF_CHECK(fields_of(json_record("m")).find("\"count\":3}") !=
              std::string::npos);
  }
  CAF_CHECK(log_fields::current().empty());
  CAF_CHECK(fields_of(json_record("m")).find("endpoint") == std::string::npos);
}
