#pragma once

// A service type of one's own: answers every JSON request {"text": T} on
// `upper.request` with {"text": UPPER(T) + suffix} on `upper.reply`.

#include <cctype>
#include <string>

#include <nlohmann/json.hpp>
#include <troupe/actors/register_service.hpp>
#include <troupe/bridge/envelope.hpp>

class upper : public troupe::service {
public:
  static troupe::config::schema type_schema() {
    troupe::config::schema s{"Upper-cases the text of each request"};
    s.string("suffix", "Appended to every answer").fallback("!");
    return s;
  }

  const troupe::config::schema* settings_schema() const override {
    static const auto s = type_schema();
    return &s;
  }

  troupe::hook_result on_configure(const troupe::settings& cfg) override {
    suffix_ = *cfg.get<std::string>("suffix");
    return troupe::hook_result::success();
  }

  troupe::hook_result on_start() override {
    subscribe<troupe::bridge::envelope>(
      "upper.request",
      [this](const std::string&, const troupe::bridge::envelope& e) {
        auto text = troupe::bridge::decode<nlohmann::json>(e)
                      .value_or(nlohmann::json::object())
                      .value("text", std::string{});
        for (auto& c : text)
          c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        troupe::bridge::envelope reply;
        reply.topic = "upper.reply";
        reply.payload = nlohmann::json{{"text", text + suffix_}}.dump();
        publish(reply.topic, std::move(reply));
      });
    return troupe::hook_result::success();
  }

private:
  std::string suffix_;
};
