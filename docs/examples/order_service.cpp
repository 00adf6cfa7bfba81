// A service that takes typed orders from ZMQ peers through the bridge and
// publishes typed confirmations back. Compiled by the build (docs/bridge.md).

#include <string>

#include <nlohmann/json.hpp>

#include "troupe/actors/service.hpp"
#include "troupe/bridge/envelope.hpp"
#include "troupe/bridge/request.hpp"

namespace shop {

struct order {
  std::string item;
  int quantity = 0;
};

// Found by ADL: the bridge's codec and decode<order>() use these.
void to_json(nlohmann::json& j, const order& o) {
  j = {{"item", o.item}, {"quantity", o.quantity}};
}
void from_json(const nlohmann::json& j, order& o) {
  j.at("item").get_to(o.item);
  j.at("quantity").get_to(o.quantity);
}

class order_desk : public troupe::service {
public:
  troupe::hook_result on_start() override {
    subscribe<troupe::bridge::envelope>(
      "orders.", [this](auto&, const auto& e) { take(e); });
    return troupe::hook_result::success();
  }

private:
  void take(const troupe::bridge::envelope& e) {
    // decode<T> returns std::optional<T> and never throws.
    if (auto o = troupe::bridge::decode<order>(e))
      confirm(*o);
    else
      record_error("bad order on " + e.topic);
  }

  void confirm(const order& o) {
    // A bridge endpoint with topics = ["confirmed."] sends this as JSON.
    publish("confirmed." + o.item, nlohmann::json(o));
  }
};

// Answers requests from ZMQ peers (a `rep` or `router` endpoint).
class calculator : public troupe::service {
public:
  troupe::hook_result on_start() override {
    namespace bridge = troupe::bridge;
    subscribe<bridge::request>("calc.", [](auto&, const bridge::request& r) {
      if (auto x = bridge::decode<int>(r.message))
        bridge::reply(r, std::to_string(*x * 2));
      else
        bridge::reply_error(r, "expected an integer");
    });
    return troupe::hook_result::success();
  }
};

} // namespace shop

int main() {
  // Building is the test; running checks the JSON round trip of order.
  try {
    shop::order o{"tea", 2};
    nlohmann::json j = o;
    return j.get<shop::order>().quantity == 2 ? 0 : 1;
  } catch (const std::exception&) {
    return 1;
  }
}
