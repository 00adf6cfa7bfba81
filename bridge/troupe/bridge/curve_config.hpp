#pragma once

#include <string>
#include <vector>

#include "troupe/config/schema.hpp"
#include "troupe/config/settings.hpp"

namespace troupe::bridge {

/// The CURVE settings of one endpoint, parsed. Keys are Z85 text (40
/// characters for 32 bytes), checked at configure time.
///
/// - Server: `secret_key` set, `server_key` empty. Peers must be CURVE
///   clients that know our public key; with `allowed_clients`, only those
///   public keys get in (checked by the ZAP handler, see curve_security.hpp).
/// - Client: `server_key` set. `secret_key` is our own key; when empty, an
///   ephemeral key pair is made at start (fine for a server that lets any
///   client in).
struct curve_config {
  /// This endpoint's Z85 secret key; empty: none.
  std::string secret_key;
  /// Client: the Z85 public key of the server we connect to.
  std::string server_key;
  /// Server: the Z85 public keys of the clients let in; empty: any client.
  std::vector<std::string> allowed_clients;

  /// Whether the endpoint uses CURVE at all.
  bool enabled() const noexcept {
    return !secret_key.empty() || !server_key.empty();
  }

  /// Whether the endpoint is a CURVE server.
  bool server() const noexcept {
    return !secret_key.empty() && server_key.empty();
  }
};

/// Declares the `curve_*` keys of an endpoint in `ep`.
void add_curve_schema(config::schema& ep);

/// Reads the `curve_*` keys of one endpoint (key files are read here).
/// Returns an error message naming the key, else "".
std::string parse_curve_config(const config::settings& ep, curve_config& out);

/// Whether `key` is 40 characters of valid Z85.
bool is_z85_key(const std::string& key);

/// Reads a key file written by `troupe keygen`: the first line that is not
/// empty and does not start with '#', trimmed. Returns "" and sets `error`
/// when the file cannot be read or holds no valid Z85 key.
std::string read_key_file(const std::string& path, std::string& error);

} // namespace troupe::bridge
