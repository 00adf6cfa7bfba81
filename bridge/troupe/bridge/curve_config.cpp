#include "troupe/bridge/curve_config.hpp"

#include <array>
#include <fstream>

#include <zmq.h>

namespace troupe::bridge {

namespace {

// Reads `key` or `key_file` (at most one of them) into `out`.
std::string key_or_file(const config::settings& ep, const std::string& key,
                        std::string& out) {
  auto text = ep.get_or<std::string>(key, "");
  auto file = ep.get_or<std::string>(key + "_file", "");
  if (!text.empty() && !file.empty())
    return "set one of " + key + " or " + key + "_file, not both";
  if (!file.empty()) {
    std::string err;
    out = read_key_file(file, err);
    return err.empty() ? err : key + "_file: " + err;
  }
  if (!text.empty() && !is_z85_key(text))
    return key + ": expected 40 Z85 characters (a key from 'troupe keygen')";
  out = text;
  return {};
}

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos)
    return {};
  auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

} // namespace

void add_curve_schema(config::schema& ep) {
  ep.string("curve_secret_key",
            "CURVE: this endpoint's Z85 secret key (40 characters). Without "
            "curve_server_key the endpoint is a CURVE server. Prefer "
            "curve_secret_key_file");
  ep.string("curve_secret_key_file",
            "CURVE: file holding this endpoint's Z85 secret key (PREFIX.key "
            "from 'troupe keygen --out PREFIX')");
  ep.string("curve_server_key",
            "CURVE client: the server's Z85 public key; without a secret key "
            "an ephemeral key pair is used");
  ep.string("curve_server_key_file",
            "CURVE client: file holding the server's Z85 public key "
            "(PREFIX.pub)");
  ep.list("curve_allowed_clients",
          "CURVE server: Z85 public keys of the clients let in (checked by "
          "ZAP); empty = any CURVE client")
    .of(config::value_kind::string)
    .fallback(config::list{});
}

std::string parse_curve_config(const config::settings& ep, curve_config& out) {
  out = curve_config{};
  if (auto err = key_or_file(ep, "curve_secret_key", out.secret_key);
      !err.empty())
    return err;
  if (auto err = key_or_file(ep, "curve_server_key", out.server_key);
      !err.empty())
    return err;
  for (auto& v : ep.get_or<config::list>("curve_allowed_clients", {})) {
    auto* key = v.get_if<std::string>();
    if (key == nullptr || !is_z85_key(*key))
      return "curve_allowed_clients: expected Z85 public keys of 40 "
             "characters, got '" +
             (key != nullptr ? *key : std::string{"?"}) + "'";
    out.allowed_clients.push_back(*key);
  }
  if (!out.allowed_clients.empty() && !out.server())
    return "curve_allowed_clients needs a CURVE server (curve_secret_key "
           "without curve_server_key)";
  return {};
}

bool is_z85_key(const std::string& key) {
  if (key.size() != 40)
    return false;
  std::array<uint8_t, 32> bin{};
  return zmq_z85_decode(bin.data(), key.c_str()) != nullptr;
}

std::string read_key_file(const std::string& path, std::string& error) {
  std::ifstream in{path};
  if (!in) {
    error = "cannot read '" + path + "'";
    return {};
  }
  std::string line;
  while (std::getline(in, line)) {
    line = trim(line);
    if (line.empty() || line[0] == '#')
      continue;
    if (is_z85_key(line))
      return line;
    break;
  }
  error = "'" + path + "' holds no Z85 key of 40 characters";
  return {};
}

} // namespace troupe::bridge
