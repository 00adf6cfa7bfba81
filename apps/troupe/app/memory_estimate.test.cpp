#define CAF_SUITE memory_estimate

#include "troupe/app/memory_estimate.hpp"

#include <caf/test/unit_test.hpp>

#include "troupe/app/app_loader.hpp"
#include "troupe/app/builtin_services.hpp"

using namespace troupe;

namespace {

config::app_config load(const std::string& text) {
  service_registry reg;
  app::register_builtin_services(reg);
  config::app_sources src;
  src.file = "mem.toml";
  src.text = text;
  auto r = app::load_app(src, reg);
  CAF_REQUIRE(r.ok());
  return r.config;
}

constexpr uint64_t kib = 1024;

} // namespace

CAF_TEST(bytes are shown in binary units) {
  CAF_CHECK_EQUAL(app::format_bytes(200), "200 B");
  CAF_CHECK_EQUAL(app::format_bytes(64 * kib), "64 KiB");
  CAF_CHECK_EQUAL(app::format_bytes(1536), "1.5 KiB");
  CAF_CHECK_EQUAL(app::format_bytes(uint64_t{3} << 30), "3 GiB");
}

CAF_TEST(the ceiling adds every bounded queue of the settings) {
  auto cfg = load(R"(
[app]
name = "m"
[services.echo]
type = "echo"
publish_window = 1000
[services.loose]
type = "echo"
publish_window = 0
[services.bridge]
type = "bridge"
[services.bridge.endpoints.in]
socket = "pull"
bind = "tcp://127.0.0.1:5581"
hwm = 100
max_message_bytes = 65536
[services.bridge.endpoints.out]
socket = "push"
bind = "tcp://127.0.0.1:5582"
hwm = 10
max_queued = 50
)");
  auto m = app::estimate_memory(cfg, 1 * kib);
  CAF_REQUIRE_EQUAL(m.parts.size(), 3u);
  auto msg = 1 * kib + 128; // published message and its overhead
  auto in = 64 * kib + 128; // inbound: the peer may send max_message_bytes
  uint64_t echo = (1000 + 1024) * msg;
  uint64_t pull = 100 * in + 100 * in; // rcvhwm per peer + credit window
  uint64_t push = 10 * msg + 50 * msg; // sndhwm per peer + send queue
  CAF_CHECK_EQUAL(m.total, echo + pull + push);
  CAF_CHECK_EQUAL(m.per_peer, 100 * in + 10 * msg);
  CAF_REQUIRE_EQUAL(m.unbounded.size(), 1u);
  CAF_CHECK_EQUAL(m.unbounded[0], "loose");
  auto text = app::render_memory_estimate(m, 1 * kib);
  CAF_CHECK(text.find("bridge/in") != std::string::npos);
  CAF_CHECK(text.find("loose") != std::string::npos);
}

CAF_TEST(a proxy holds up to both high - water marks per side and peer) {
  auto cfg = load(R"(
[app]
name = "m"
[services.hub]
type = "proxy"
mode = "pipeline"
frontend.bind = "tcp://127.0.0.1:5611"
frontend.hwm = 100
frontend.max_message_bytes = 65536
backend.bind = "tcp://127.0.0.1:5612"
backend.hwm = 10
backend.max_message_bytes = 1024
)");
  auto m = app::estimate_memory(cfg, 1 * kib);
  CAF_REQUIRE_EQUAL(m.parts.size(), 1u);
  auto in = 64 * kib + 128; // the larger max_message_bytes + overhead
  CAF_CHECK_EQUAL(m.total, 2 * (uint64_t{100} + 10) * in);
  CAF_CHECK_EQUAL(m.per_peer, 2 * uint64_t{100} * in);
  CAF_CHECK(m.unbounded.empty());
}

CAF_TEST(the inbound window is capped by max_in_flight_bytes) {
  auto cfg = load(R"(
[app]
name = "m"
[services.bridge]
type = "bridge"
[services.bridge.endpoints.in]
socket = "sub"
connect = ["tcp://127.0.0.1:5582"]
hwm = 10000
max_message_bytes = 1000
max_in_flight_bytes = 100000
)");
  auto m = app::estimate_memory(cfg, 1 * kib);
  CAF_REQUIRE_EQUAL(m.parts.size(), 1u);
  uint64_t in = 1000 + 128;
  CAF_CHECK_EQUAL(m.parts[0].bytes, 10000 * in + 100000 + 64 * in);
}

CAF_TEST(a byte bound caps the send queue) {
  auto cfg = load(R"(
[app]
name = "m"
[services.bridge]
type = "bridge"
[services.bridge.endpoints.out]
socket = "pub"
bind = "tcp://127.0.0.1:5582"
hwm = 10
max_queued = 1000000
max_queued_bytes = 4096
)");
  auto m = app::estimate_memory(cfg, 1 * kib);
  CAF_REQUIRE_EQUAL(m.parts.size(), 1u);
  CAF_CHECK_EQUAL(m.parts[0].bytes, 10 * (1 * kib + 128) + 4096);
}
