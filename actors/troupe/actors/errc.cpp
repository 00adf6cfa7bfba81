#include "troupe/actors/errc.hpp"

#include <caf/deep_to_string.hpp>
#include <caf/make_message.hpp>
#include <caf/message.hpp>

#include "troupe/config/enum_names.hpp"

namespace troupe {

std::string_view to_string(errc x) noexcept {
  constexpr enum_names<errc, 16> names{{{
    {errc::invalid_transition, "invalid_transition"},
    {errc::not_configured, "not_configured"},
    {errc::not_running, "not_running"},
    {errc::hook_refused, "hook_refused"},
    {errc::hook_failed, "hook_failed"},
    {errc::handler_failed, "handler_failed"},
    {errc::stop_deadline_exceeded, "stop_deadline_exceeded"},
    {errc::type_mismatch, "type_mismatch"},
    {errc::invalid_settings, "invalid_settings"},
    {errc::unknown_type, "unknown_type"},
    {errc::duplicate_name, "duplicate_name"},
    {errc::plugin_failed, "plugin_failed"},
    {errc::unknown_child, "unknown_child"},
    {errc::child_failed, "child_failed"},
    {errc::timeout, "timeout"},
    {errc::circuit_open, "circuit_open"},
  }}};
  return names.name(x);
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
