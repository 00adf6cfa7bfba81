#include "troupe/app/status_json.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <map>

namespace troupe {

namespace {

using nlohmann::json;

// Timestamps at the epoch mean "never" in service_status; null says so.
json timestamp_json(timestamp x) {
  if (x.time_since_epoch().count() == 0)
    return nullptr;
  return format_iso8601(x);
}

timestamp timestamp_from(const json& j) {
  if (j.is_null())
    return timestamp{};
  auto str = j.get<std::string>();
  auto t = parse_iso8601(str);
  if (!t)
    throw json::type_error::create(
      302, "expected an ISO-8601 timestamp, got '" + str + "'", &j);
  return *t;
}

service_state state_from(const json& j) {
  auto str = j.get<std::string>();
  if (auto s = parse_service_state(str))
    return *s;
  throw json::type_error::create(302, "unknown service state '" + str + "'",
                                 &j);
}

health_status health_from(const json& j) {
  auto str = j.get<std::string>();
  if (auto h = parse_health_status(str))
    return *h;
  throw json::type_error::create(302, "unknown health status '" + str + "'",
                                 &j);
}

// Reads `key` into `out` when present: older or newer servers may omit or add
// fields, and ctl should still print what it can.
template <class T>
void read(const json& j, const char* key, T& out) {
  if (auto i = j.find(key); i != j.end() && !i->is_null())
    i->get_to(out);
}

} // namespace

std::string format_iso8601(timestamp x) {
  using namespace std::chrono;
  auto ms = duration_cast<milliseconds>(x.time_since_epoch()).count();
  auto secs = static_cast<std::time_t>(ms / 1000);
  auto frac = static_cast<int>(ms % 1000);
  if (frac < 0) { // before 1970: floor, not truncate
    frac += 1000;
    --secs;
  }
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                tm.tm_min, tm.tm_sec, frac);
  return buf;
}

std::optional<timestamp> parse_iso8601(std::string_view str) noexcept {
  // YYYY-MM-DDTHH:MM:SS[.fraction]Z
  auto digits = [&](size_t pos, size_t n, int& out) {
    if (pos + n > str.size())
      return false;
    out = 0;
    for (size_t i = pos; i < pos + n; ++i) {
      if (str[i] < '0' || str[i] > '9')
        return false;
      out = out * 10 + (str[i] - '0');
    }
    return true;
  };
  std::tm tm{};
  int year = 0;
  int mon = 0;
  if (str.size() < 20 || !digits(0, 4, year) || str[4] != '-' ||
      !digits(5, 2, mon) || str[7] != '-' || !digits(8, 2, tm.tm_mday) ||
      str[10] != 'T' || !digits(11, 2, tm.tm_hour) || str[13] != ':' ||
      !digits(14, 2, tm.tm_min) || str[16] != ':' || !digits(17, 2, tm.tm_sec))
    return std::nullopt;
  if (mon < 1 || mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
      tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
    return std::nullopt;
  tm.tm_year = year - 1900;
  tm.tm_mon = mon - 1;
  size_t pos = 19;
  int64_t nanos = 0;
  if (str[pos] == '.') {
    ++pos;
    int64_t scale = 100'000'000;
    size_t start = pos;
    while (pos < str.size() && str[pos] >= '0' && str[pos] <= '9') {
      if (pos - start >= 9)
        return std::nullopt;
      nanos += (str[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start)
      return std::nullopt;
  }
  if (pos + 1 != str.size() || str[pos] != 'Z')
    return std::nullopt;
  auto secs = timegm(&tm);
  return timestamp{std::chrono::seconds{secs} +
                   std::chrono::nanoseconds{nanos}};
}

void to_json(json& j, const state_change& x) {
  j = json{{"from", to_string(x.from)},
           {"to", to_string(x.to)},
           {"reason", x.reason},
           {"at", timestamp_json(x.at)}};
}

void from_json(const json& j, state_change& x) {
  x.from = state_from(j.at("from"));
  x.to = state_from(j.at("to"));
  read(j, "reason", x.reason);
  x.at = j.contains("at") ? timestamp_from(j.at("at")) : timestamp{};
}

void to_json(json& j, const service_status& x) {
  using seconds = std::chrono::duration<double>;
  j = json{{"name", x.name},
           {"type", x.type},
           {"state", to_string(x.state)},
           {"health", to_string(x.health)},
           {"started_at", timestamp_json(x.started_at)},
           {"uptime_seconds", seconds{x.uptime}.count()},
           {"messages_in", x.messages_in},
           {"messages_out", x.messages_out},
           {"messages_dropped", x.messages_dropped},
           {"errors", x.errors},
           {"restarts", x.restarts},
           {"in_flight", x.in_flight},
           {"publish_unacked", x.publish_unacked},
           {"held_back", x.held_back},
           {"held_back_times", x.held_back_times},
           {"held_messages", x.held_messages},
           {"mailbox_size", x.mailbox_size},
           {"last_error", x.last_error},
           {"stopped_hard", x.stopped_hard},
           {"history", x.history},
           {"metadata", x.metadata}};
}

void from_json(const json& j, service_status& x) {
  using namespace std::chrono;
  x = service_status{};
  j.at("name").get_to(x.name);
  read(j, "type", x.type);
  x.state = state_from(j.at("state"));
  if (j.contains("health"))
    x.health = health_from(j.at("health"));
  if (j.contains("started_at"))
    x.started_at = timestamp_from(j.at("started_at"));
  double up = 0;
  read(j, "uptime_seconds", up);
  x.uptime = duration_cast<nanoseconds>(duration<double>{up});
  read(j, "messages_in", x.messages_in);
  read(j, "messages_out", x.messages_out);
  read(j, "messages_dropped", x.messages_dropped);
  read(j, "errors", x.errors);
  read(j, "restarts", x.restarts);
  read(j, "in_flight", x.in_flight);
  read(j, "publish_unacked", x.publish_unacked);
  read(j, "held_back", x.held_back);
  read(j, "held_back_times", x.held_back_times);
  read(j, "held_messages", x.held_messages);
  read(j, "mailbox_size", x.mailbox_size);
  read(j, "last_error", x.last_error);
  read(j, "stopped_hard", x.stopped_hard);
  read(j, "history", x.history);
  read(j, "metadata", x.metadata);
  for (auto& h : x.history)
    h.service = x.name;
}

void to_json(json& j, const health_check& x) {
  j = json{{"name", x.name},
           {"status", to_string(x.status)},
           {"message", x.message},
           {"updated", timestamp_json(x.updated)}};
}

void from_json(const json& j, health_check& x) {
  j.at("name").get_to(x.name);
  x.status = health_from(j.at("status"));
  read(j, "message", x.message);
  x.updated =
    j.contains("updated") ? timestamp_from(j.at("updated")) : timestamp{};
}

void to_json(json& j, const health_report& x) {
  j = json{{"overall", to_string(x.overall)}, {"checks", x.checks}};
}

void from_json(const json& j, health_report& x) {
  x.overall = health_from(j.at("overall"));
  x.checks.clear();
  read(j, "checks", x.checks);
}

namespace app {

bool needs_attention(const service_health& x) noexcept {
  return x.report.overall != health_status::healthy ||
         (x.expected && x.state != service_state::running);
}

json app_health_body(const std::vector<service_health>& xs, bool all) {
  auto overall = health_status::healthy;
  auto services = json::array();
  auto not_ready = json::array();
  std::map<std::string, size_t> states;
  std::map<std::string, size_t> healths;
  size_t expected = 0;
  for (auto& x : xs) {
    ++states[to_string(x.state)];
    ++healths[std::string{to_string(x.report.overall)}];
    if (all || needs_attention(x)) {
      json entry = x.report;
      entry["name"] = x.name;
      entry["state"] = std::string{to_string(x.state)};
      entry["expected"] = x.expected;
      services.push_back(std::move(entry));
    }
    if (!x.expected)
      continue;
    ++expected;
    overall = worst(overall, x.report.overall);
    std::string why;
    if (x.state != service_state::running)
      why = std::string{to_string(x.state)};
    else if (x.report.overall >= health_status::unhealthy)
      why = std::string{to_string(x.report.overall)};
    if (!why.empty())
      not_ready.push_back(json{{"name", x.name}, {"reason", why}});
  }
  bool ready = not_ready.empty();
  json summary{{"services", xs.size()},
               {"expected", expected},
               {"states", states},
               {"health", healths}};
  return json{{"ok", ready},
              {"ready", ready},
              {"status", to_string(overall)},
              {"summary", std::move(summary)},
              {"services", std::move(services)},
              {"not_ready", std::move(not_ready)}};
}

json app_health_json(
  const std::vector<std::pair<std::string, health_report>>& xs, bool all) {
  std::vector<service_health> list;
  list.reserve(xs.size());
  for (auto& [name, report] : xs)
    list.push_back({name, service_state::running, true, report});
  return app_health_body(list, all);
}

service_page select_services(const std::vector<service_status>& all,
                             const service_query& q) {
  service_page out;
  size_t from = 0;
  if (!q.after.empty()) {
    auto i = std::find_if(all.begin(), all.end(), [&](const service_status& x) {
      return x.name == q.after;
    });
    if (i == all.end()) {
      out.error = "after: no service named '" + q.after + "'";
      return out;
    }
    from = static_cast<size_t>(i - all.begin()) + 1;
  }
  auto match = [&](const service_status& x) {
    return (q.state.empty() || to_string(x.state) == q.state) &&
           (q.type.empty() || x.type == q.type);
  };
  std::string last;
  for (size_t i = 0; i < all.size(); ++i) {
    if (!match(all[i]))
      continue;
    ++out.total;
    if (i < from)
      continue;
    if (q.limit > 0 && out.items.size() == q.limit) {
      if (out.next_after.empty())
        out.next_after = last;
      continue;
    }
    last = all[i].name;
    out.items.push_back(json(all[i]));
  }
  return out;
}

} // namespace app

} // namespace troupe
