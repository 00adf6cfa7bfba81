#include "troupe/actors/errc.hpp"

#include <caf/deep_to_string.hpp>
#include <caf/make_message.hpp>
#include <caf/message.hpp>

namespace troupe {

std::string_view to_string(errc x) noexcept {
  switch (x) {
  case errc::invalid_transition:
    return "invalid_transition";
  case errc::not_configured:
    return "not_configured";
  case errc::not_running:
    return "not_running";
  case errc::hook_refused:
    return "hook_refused";
  case errc::hook_failed:
    return "hook_failed";
  case errc::handler_failed:
    return "handler_failed";
  case errc::stop_deadline_exceeded:
    return "stop_deadline_exceeded";
  case errc::type_mismatch:
    return "type_mismatch";
  case errc::invalid_settings:
    return "invalid_settings";
  case errc::unknown_type:
    return "unknown_type";
  case errc::duplicate_name:
    return "duplicate_name";
  case errc::plugin_failed:
    return "plugin_failed";
  case errc::unknown_child:
    return "unknown_child";
  case errc::child_failed:
    return "child_failed";
  case errc::timeout:
    return "timeout";
  case errc::circuit_open:
    return "circuit_open";
  }
  return "unknown";
}

caf::error make_error(errc x, std::string context) {
  return caf::error{static_cast<uint8_t>(x), errc_category,
                    caf::make_message(std::move(context))};
}

caf::error make_error(errc x) {
  return caf::error{static_cast<uint8_t>(x), errc_category};
}

bool is(const caf::error& err, errc x) noexcept {
  return err.category() == errc_category &&
         err.code() == static_cast<uint8_t>(x);
}

std::string describe(const caf::error& err) {
  if (!err)
    return "none";
  std::string out;
  if (err.category() == errc_category) {
    out = "troupe.";
    out += to_string(static_cast<errc>(err.code()));
  } else {
    out = caf::to_string(err.category());
    out += '.';
    out += std::to_string(err.code());
  }
  auto& ctx = err.context();
  if (ctx.size() == 1 && ctx.match_element<std::string>(0)) {
    out += ": ";
    out += ctx.get_as<std::string>(0);
  } else if (!ctx.empty()) {
    out += ": ";
    out += caf::deep_to_string(ctx);
  }
  return out;
}

} // namespace troupe
