// The bridge's bulk path: a service that publishes many payloads on one
// topic as one envelope_batch, and one that reads batches from a
// `batch = true` endpoint. Compiled by the build (docs/bridge.md).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "troupe/actors/service.hpp"
#include "troupe/bridge/envelope.hpp"

namespace market {

class price_feed : public troupe::service {
public:
  void publish_prices(const std::vector<double>& prices) {
    troupe::bridge::envelope_batch b{"prices.eur"};
    for (auto px : prices)
      b.add(nlohmann::json{{"px", px}}.dump());
    // One bus message; the bridge sends one ZMQ message per payload.
    publish("prices.eur", std::move(b));
  }
};

class tick_counter : public troupe::service {
public:
  troupe::hook_result on_start() override {
    subscribe<troupe::bridge::envelope_batch>(
      "ticks.", [this](auto&, const troupe::bridge::envelope_batch& b) {
        for (size_t i = 0; i < b.size(); ++i)
          count(b[i]); // std::string_view into the batch's buffer
      });
    return troupe::hook_result::success();
  }

private:
  void count(std::string_view payload) {
    ++ticks_;
    bytes_ += payload.size();
  }

  uint64_t ticks_ = 0;
  uint64_t bytes_ = 0;
};

} // namespace market

int main() {
  // Building is the test; running checks that payloads come back whole and
  // in order, the empty one included.
  troupe::bridge::envelope_batch b{"ticks.x"};
  b.add("{\"px\":1}");
  b.add("");
  b.add("{\"px\":22}");
  bool ok = b.size() == 3 && b[0] == "{\"px\":1}" && b[1].empty() &&
            b[2] == "{\"px\":22}" && !b.empty();
  return ok ? 0 : 1;
}
