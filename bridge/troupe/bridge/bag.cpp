#include "troupe/bridge/bag.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <map>
#include <random>
#include <system_error>

#include <sqlite3.h>

namespace troupe::bridge {

namespace fs = std::filesystem;

namespace {

// The first 16 bytes of every SQLite 3 database file.
constexpr std::string_view sqlite_magic{"SQLite format 3\0", 16};

// A bag file is never smaller than its first page, whose first 100 bytes are
// the SQLite header.
constexpr size_t sqlite_header_bytes = 100;

uint32_t big_endian(const unsigned char* p, size_t n) {
  uint32_t x = 0;
  for (size_t i = 0; i < n; ++i)
    x = (x << 8) | p[i];
  return x;
}

std::string errmsg(sqlite3* db) {
  return db != nullptr ? sqlite3_errmsg(db) : "out of memory";
}

// Runs SQL without results; "" or SQLite's error.
std::string exec(sqlite3* db, const char* sql) {
  char* msg = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &msg) == SQLITE_OK)
    return {};
  std::string text = msg != nullptr ? msg : errmsg(db);
  sqlite3_free(msg);
  return text;
}

struct stmt_deleter {
  void operator()(sqlite3_stmt* s) const noexcept { sqlite3_finalize(s); }
};
using stmt_ptr = std::unique_ptr<sqlite3_stmt, stmt_deleter>;

struct db_deleter {
  void operator()(sqlite3* db) const noexcept { sqlite3_close(db); }
};
using db_ptr = std::unique_ptr<sqlite3, db_deleter>;

stmt_ptr prepare(sqlite3* db, const char* sql, std::string& err) {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &s, nullptr) != SQLITE_OK) {
    err = errmsg(db);
    sqlite3_finalize(s);
    return nullptr;
  }
  return stmt_ptr{s};
}

std::string_view column_view(sqlite3_stmt* s, int i) {
  auto* p = static_cast<const char*>(sqlite3_column_blob(s, i));
  auto n = static_cast<size_t>(sqlite3_column_bytes(s, i));
  return p == nullptr ? std::string_view{} : std::string_view{p, n};
}

// How long a bag's reader or writer waits for the other's lock (a reader
// of a live bag: SQLite's WAL-index recovery; the writer: a checkpoint).
constexpr int busy_timeout_ms = 5000;

db_ptr open_readonly(const std::string& path, std::string& err) {
  sqlite3* db = nullptr;
  auto rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  db_ptr owned{db};
  if (rc != SQLITE_OK) {
    err = path + ": cannot open: " + errmsg(db);
    return nullptr;
  }
  sqlite3_busy_timeout(db, busy_timeout_ms);
  return owned;
}

// The header table as a map; "" or what is wrong (without the file name).
std::string read_header(sqlite3* db, std::map<std::string, std::string>& out) {
  std::string err;
  auto s = prepare(db, "SELECT key, value FROM troupe_bag", err);
  if (!s) {
    if (err.find("no such table") != std::string::npos)
      return "not a troupe bag: an SQLite database without a troupe_bag "
             "header table";
    return "corrupt: " + err;
  }
  int rc = 0;
  while ((rc = sqlite3_step(s.get())) == SQLITE_ROW)
    out[std::string{column_view(s.get(), 0)}] =
      std::string{column_view(s.get(), 1)};
  if (rc != SQLITE_DONE)
    return "corrupt: " + errmsg(db);
  return {};
}

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

std::string make_recording_id() {
  std::random_device rd;
  std::mt19937_64 gen{(uint64_t{rd()} << 32) ^ rd() ^
                      static_cast<uint64_t>(now_ns())};
  std::array<char, 17> buf{};
  std::snprintf(buf.data(), buf.size(), "%016llx",
                static_cast<unsigned long long>(gen()));
  return buf.data();
}

// Joins parts into one message without temporaries.
std::string concat(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (auto p : parts)
    out += p;
  return out;
}

bool exists(const std::string& path) {
  std::error_code ec;
  return fs::exists(path, ec);
}

} // namespace

std::string bag_split_path(const std::string& path, size_t n) {
  return n == 0 ? path : path + "." + std::to_string(n);
}

std::string remove_bag(const std::string& path) {
  for (size_t n = 0; n == 0 || exists(bag_split_path(path, n)); ++n) {
    std::error_code ec;
    for (auto* side : {"", "-journal", "-wal", "-shm"}) {
      fs::remove(bag_split_path(path, n) + side, ec);
      if (ec)
        return bag_split_path(path, n) + side +
               ": cannot remove: " + ec.message();
    }
  }
  return {};
}

std::string check_bag_file(const std::string& path) {
  std::error_code ec;
  auto status = fs::status(path, ec);
  if (ec || !fs::exists(status))
    return path + ": no such file";
  if (!fs::is_regular_file(status))
    return path + ": not a regular file";
  auto size = fs::file_size(path, ec);
  if (ec)
    return path + ": cannot read: " + ec.message();
  if (size == 0)
    return path + ": empty file (not a troupe bag)";
  std::array<unsigned char, sqlite_header_bytes> head{};
  {
    std::ifstream in{path, std::ios::binary};
    if (!in)
      return path + ": cannot read";
    in.read(reinterpret_cast<char*>(head.data()),
            static_cast<std::streamsize>(head.size()));
  }
  auto got = std::string_view{reinterpret_cast<const char*>(head.data()),
                              std::min<size_t>(size, sqlite_magic.size())};
  if (got != sqlite_magic.substr(0, got.size()))
    return path + ": not a troupe bag: not an SQLite 3 database (a troupe "
                  "bag is one)";
  if (size < sqlite_header_bytes)
    return path + ": truncated: " + std::to_string(size) +
           " bytes, shorter than the 100-byte SQLite header";
  // The page count in the header is valid when the change counter (offset
  // 24) equals the "version valid for" number (offset 92).
  uint64_t page_size = big_endian(&head[16], 2);
  if (page_size == 1)
    page_size = 65536;
  uint64_t pages = big_endian(&head[28], 4);
  bool valid =
    pages > 0 && big_endian(&head[24], 4) == big_endian(&head[92], 4);
  if (valid && size < page_size * pages)
    return path + ": truncated: the SQLite header says " +
           std::to_string(page_size * pages) + " bytes, the file has " +
           std::to_string(size);
  std::string err;
  auto db = open_readonly(path, err);
  if (!db)
    return err;
  std::map<std::string, std::string> header;
  if (auto what = read_header(db.get(), header); !what.empty())
    return path + ": " + what;
  auto format = header["format"];
  if (format != bag_format)
    return path + ": not a troupe bag: format '" + format + "', expected '" +
           std::string{bag_format} + "'";
  auto version = header["version"];
  if (version != std::to_string(bag_version))
    return path + ": troupe bag version '" + version +
           "'; this troupe reads version " + std::to_string(bag_version);
  if (!prepare(db.get(),
               "SELECT recv_ns, topic, payload, meta FROM messages LIMIT 0",
               err))
    return path + ": corrupt: no readable messages table (" + err + ")";
  auto check = prepare(db.get(), "PRAGMA quick_check(1)", err);
  if (!check)
    return path + ": corrupt: " + err;
  auto rc = sqlite3_step(check.get());
  if (rc != SQLITE_ROW)
    return path + ": corrupt: " + errmsg(db.get());
  if (auto verdict = column_view(check.get(), 0); verdict != "ok")
    return path + ": corrupt: " + std::string{verdict};
  return {};
}

// -- bag_writer ---------------------------------------------------------------

struct bag_writer::impl {
  std::string base;
  bag_limits limits;
  std::string source;
  std::string recording;
  std::string file;
  size_t split = 0;
  db_ptr db;
  stmt_ptr insert;
  stmt_ptr page_count;
  bool in_tx = false;
  uint64_t page_size = 4096;
  // Messages in this file, its first receive time, and its size: pages at
  // the last commit plus the bytes written since.
  uint64_t file_messages = 0;
  int64_t file_first_ns = 0;
  uint64_t file_bytes = 0;
  uint64_t messages = 0;
  uint64_t bytes = 0;

  std::string open_file() {
    file = bag_split_path(base, split);
    sqlite3* raw = nullptr;
    auto rc = sqlite3_open_v2(
      file.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
    db.reset(raw);
    if (rc != SQLITE_OK)
      return file + ": cannot create: " + errmsg(raw);
    sqlite3_busy_timeout(db.get(), busy_timeout_ms);
    // WAL while the file is written: a reader of the live bag (`troupe bag
    // info`, any SQLite tool) reads the last commit and does not block the
    // writer, whose commit would otherwise fail ("database is locked") and
    // end the recording. close() makes it one self-contained file again.
    // synchronous = OFF: no fsync per commit. A crash of troupe leaves a
    // consistent file (with its FILE-wal); only an OS crash may not.
    std::string err = exec(db.get(), "PRAGMA journal_mode = WAL;"
                                     "PRAGMA synchronous = OFF;"
                                     "CREATE TABLE troupe_bag (key TEXT "
                                     "PRIMARY KEY, value TEXT NOT NULL);"
                                     "CREATE TABLE messages (id INTEGER "
                                     "PRIMARY KEY, recv_ns INTEGER NOT NULL, "
                                     "topic BLOB NOT NULL, payload BLOB NOT "
                                     "NULL, meta BLOB);");
    if (!err.empty())
      return file + ": " + err;
    auto header =
      prepare(db.get(), "INSERT INTO troupe_bag VALUES (?, ?)", err);
    if (!header)
      return file + ": " + err;
    std::pair<std::string, std::string> rows[] = {
      {"format", std::string{bag_format}},
      {"version", std::to_string(bag_version)},
      {"recording", recording},
      {"split", std::to_string(split)},
      {"source", source},
      {"created_ns", std::to_string(now_ns())},
    };
    for (auto& [k, v] : rows) {
      sqlite3_bind_text(header.get(), 1, k.data(), static_cast<int>(k.size()),
                        SQLITE_STATIC);
      sqlite3_bind_text(header.get(), 2, v.data(), static_cast<int>(v.size()),
                        SQLITE_STATIC);
      if (sqlite3_step(header.get()) != SQLITE_DONE)
        return file + ": " + errmsg(db.get());
      sqlite3_reset(header.get());
    }
    insert = prepare(db.get(),
                     "INSERT INTO messages (recv_ns, topic, payload, meta) "
                     "VALUES (?, ?, ?, ?)",
                     err);
    if (!insert)
      return file + ": " + err;
    page_count = prepare(db.get(), "PRAGMA page_count", err);
    if (!page_count)
      return file + ": " + err;
    auto ps = prepare(db.get(), "PRAGMA page_size", err);
    if (ps && sqlite3_step(ps.get()) == SQLITE_ROW)
      page_size = static_cast<uint64_t>(sqlite3_column_int64(ps.get(), 0));
    file_messages = 0;
    file_first_ns = 0;
    file_bytes = measure();
    return {};
  }

  uint64_t measure() {
    uint64_t pages = 0;
    if (sqlite3_step(page_count.get()) == SQLITE_ROW)
      pages = static_cast<uint64_t>(sqlite3_column_int64(page_count.get(), 0));
    sqlite3_reset(page_count.get());
    return pages * page_size;
  }

  std::string commit() {
    if (!in_tx)
      return {};
    if (auto err = exec(db.get(), "COMMIT"); !err.empty())
      return file + ": " + err;
    in_tx = false;
    file_bytes = measure();
    return {};
  }

  std::string close() {
    if (!db)
      return {};
    auto err = commit();
    insert.reset();
    page_count.reset();
    // Everything into FILE and back to a rollback journal, so that FILE
    // alone is the bag (no FILE-wal, FILE-shm). A reader still open keeps
    // the WAL mode (FILE is complete all the same after the checkpoint; the
    // last connection to close removes FILE-wal).
    if (err.empty())
      exec(db.get(), "PRAGMA wal_checkpoint(TRUNCATE);"
                     "PRAGMA journal_mode = DELETE;");
    if (sqlite3_close(db.release()) != SQLITE_OK && err.empty())
      err = file + ": close failed";
    return err;
  }

  std::string rotate() {
    if (auto err = close(); !err.empty())
      return err;
    ++split;
    if (exists(bag_split_path(base, split)))
      return bag_split_path(base, split) + ": exists; not overwritten";
    return open_file();
  }
};

bag_writer::bag_writer(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

bag_writer::~bag_writer() {
  if (impl_)
    impl_->close();
}

std::unique_ptr<bag_writer>
bag_writer::create(const std::string& path, bag_limits limits, bool overwrite,
                   std::string source, std::string& err) {
  if (path.empty()) {
    err = "no bag file name given";
    return nullptr;
  }
  // FILE and its splits; FILE.1 ... also when FILE itself is gone, since a
  // rotation would stop at a stale FILE.N.
  if (!overwrite) {
    for (size_t n = 0; n == 0 || exists(bag_split_path(path, n)); ++n)
      if (exists(bag_split_path(path, n))) {
        err = bag_split_path(path, n) + ": exists; not overwritten";
        return nullptr;
      }
  } else if (err = remove_bag(path); !err.empty()) {
    return nullptr;
  }
  auto p = std::make_unique<impl>();
  p->base = path;
  p->limits = limits;
  p->source = std::move(source);
  p->recording = make_recording_id();
  if (err = p->open_file(); !err.empty())
    return nullptr;
  return std::unique_ptr<bag_writer>{new bag_writer{std::move(p)}};
}

bool bag_writer::write(std::string_view topic, std::string_view payload,
                       std::string_view meta, bool has_meta, int64_t recv_ns,
                       std::string& err) {
  auto& p = *impl_;
  if (!p.db) {
    err = p.file + ": closed";
    return false;
  }
  if (p.file_messages > 0) {
    bool full = p.limits.max_bytes > 0 && p.file_bytes >= p.limits.max_bytes;
    bool old = p.limits.max_duration.count() > 0 &&
               recv_ns - p.file_first_ns >= p.limits.max_duration.count();
    if (full || old) {
      if (err = p.rotate(); !err.empty())
        return false;
    }
  }
  if (!p.in_tx) {
    if (err = exec(p.db.get(), "BEGIN"); !err.empty()) {
      err = p.file + ": " + err;
      return false;
    }
    p.in_tx = true;
  }
  auto* s = p.insert.get();
  // SQLITE_STATIC: the step below runs before the views go away.
  sqlite3_bind_int64(s, 1, recv_ns);
  sqlite3_bind_blob64(s, 2, topic.data(), topic.size(), SQLITE_STATIC);
  sqlite3_bind_blob64(s, 3, payload.data(), payload.size(), SQLITE_STATIC);
  if (has_meta)
    sqlite3_bind_blob64(s, 4, meta.data(), meta.size(), SQLITE_STATIC);
  else
    sqlite3_bind_null(s, 4);
  auto rc = sqlite3_step(s);
  sqlite3_reset(s);
  sqlite3_clear_bindings(s);
  if (rc != SQLITE_DONE) {
    err = p.file + ": " + errmsg(p.db.get());
    return false;
  }
  if (p.file_messages++ == 0)
    p.file_first_ns = recv_ns;
  auto n = topic.size() + payload.size() + (has_meta ? meta.size() : 0);
  p.file_bytes += n + 16; // roughly SQLite's per-row overhead
  p.bytes += n;
  ++p.messages;
  return true;
}

bool bag_writer::commit(std::string& err) {
  err = impl_->commit();
  return err.empty();
}

bool bag_writer::close(std::string& err) {
  err = impl_->close();
  return err.empty();
}

const std::string& bag_writer::current_file() const noexcept {
  return impl_->file;
}

size_t bag_writer::files() const noexcept {
  return impl_->split + 1;
}

uint64_t bag_writer::messages() const noexcept {
  return impl_->messages;
}

uint64_t bag_writer::bytes() const noexcept {
  return impl_->bytes;
}

// -- bag_reader ---------------------------------------------------------------

struct bag_reader::impl {
  std::vector<std::string> files;
  std::vector<std::string> prefixes;
  std::string recording;
  std::string source;
  size_t current = 0;
  db_ptr db;
  stmt_ptr select;

  bool wanted(std::string_view topic) const {
    if (prefixes.empty())
      return true;
    return std::any_of(prefixes.begin(), prefixes.end(), [&](auto& p) {
      return topic.compare(0, p.size(), p) == 0;
    });
  }

  void close() {
    select.reset();
    db.reset();
  }
};

bag_reader::bag_reader(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

bag_reader::~bag_reader() = default;

std::unique_ptr<bag_reader> bag_reader::open(const std::string& path,
                                             std::string& err) {
  auto p = std::make_unique<impl>();
  for (size_t n = 0; n == 0 || exists(bag_split_path(path, n)); ++n) {
    auto file = bag_split_path(path, n);
    if (err = check_bag_file(file); !err.empty())
      return nullptr;
    auto db = open_readonly(file, err);
    if (!db)
      return nullptr;
    std::map<std::string, std::string> header;
    if (auto what = read_header(db.get(), header); !what.empty()) {
      err = concat({file, ": ", what});
      return nullptr;
    }
    if (n == 0) {
      p->recording = header["recording"];
      p->source = header["source"];
      if (header["split"] != "0") {
        err = file + ": split " + header["split"] +
              " of a recording; open "
              "its first file (without the .N suffix)";
        return nullptr;
      }
    } else if (header["recording"] != p->recording ||
               header["split"] != std::to_string(n)) {
      err = concat({file, ": not split ", std::to_string(n),
                    " of the recording in ", path, " (recording ",
                    header["recording"], ", split ", header["split"],
                    "); move it away"});
      return nullptr;
    }
    p->files.push_back(file);
  }
  return std::unique_ptr<bag_reader>{new bag_reader{std::move(p)}};
}

bool bag_reader::next(bag_message& out, std::string& err) {
  auto& p = *impl_;
  err.clear();
  while (p.current < p.files.size()) {
    auto& file = p.files[p.current];
    if (!p.db) {
      p.db = open_readonly(file, err);
      if (!p.db)
        return false;
      p.select = prepare(p.db.get(),
                         "SELECT recv_ns, topic, payload, meta FROM messages "
                         "ORDER BY id",
                         err);
      if (!p.select) {
        err = concat({file, ": corrupt: ", err});
        p.close();
        return false;
      }
    }
    auto* s = p.select.get();
    int rc = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      auto topic = column_view(s, 1);
      if (!p.wanted(topic))
        continue;
      out.recv_ns = sqlite3_column_int64(s, 0);
      out.topic.assign(topic);
      out.payload.assign(column_view(s, 2));
      out.has_meta = sqlite3_column_type(s, 3) != SQLITE_NULL;
      out.meta.assign(out.has_meta ? column_view(s, 3) : std::string_view{});
      return true;
    }
    if (rc != SQLITE_DONE) {
      err = file + ": corrupt: " + errmsg(p.db.get());
      p.close();
      return false;
    }
    p.close();
    ++p.current;
  }
  return false;
}

void bag_reader::rewind() {
  impl_->close();
  impl_->current = 0;
}

void bag_reader::set_topics(std::vector<std::string> prefixes) {
  impl_->prefixes = std::move(prefixes);
}

const std::vector<std::string>& bag_reader::files() const noexcept {
  return impl_->files;
}

bool bag_reader::summarize(bag_summary& out, std::string& err) {
  auto& p = *impl_;
  out = bag_summary{};
  out.recording = p.recording;
  out.source = p.source;
  out.version = bag_version;
  std::map<std::string, bag_topic_summary> topics;
  for (auto& file : p.files) {
    auto db = open_readonly(file, err);
    if (!db)
      return false;
    bag_file_summary f;
    f.path = file;
    std::error_code ec;
    f.file_bytes = fs::file_size(file, ec);
    auto totals = prepare(db.get(),
                          "SELECT count(*), coalesce(min(recv_ns), 0), "
                          "coalesce(max(recv_ns), 0) FROM messages",
                          err);
    if (!totals || sqlite3_step(totals.get()) != SQLITE_ROW) {
      err = concat({file, ": corrupt: ", totals ? errmsg(db.get()) : err});
      return false;
    }
    f.messages = static_cast<uint64_t>(sqlite3_column_int64(totals.get(), 0));
    f.first_ns = sqlite3_column_int64(totals.get(), 1);
    f.last_ns = sqlite3_column_int64(totals.get(), 2);
    auto per_topic =
      prepare(db.get(),
              "SELECT topic, count(*), sum(length(topic) + length(payload) + "
              "coalesce(length(meta), 0)) FROM messages GROUP BY topic",
              err);
    if (!per_topic) {
      err = concat({file, ": corrupt: ", err});
      return false;
    }
    int rc = 0;
    while ((rc = sqlite3_step(per_topic.get())) == SQLITE_ROW) {
      auto name = std::string{column_view(per_topic.get(), 0)};
      auto& t = topics[name];
      t.topic = name;
      t.messages +=
        static_cast<uint64_t>(sqlite3_column_int64(per_topic.get(), 1));
      t.bytes +=
        static_cast<uint64_t>(sqlite3_column_int64(per_topic.get(), 2));
    }
    if (rc != SQLITE_DONE) {
      err = file + ": corrupt: " + errmsg(db.get());
      return false;
    }
    if (f.messages > 0) {
      if (out.messages == 0 || f.first_ns < out.first_ns)
        out.first_ns = f.first_ns;
      out.last_ns = std::max(out.last_ns, f.last_ns);
    }
    out.messages += f.messages;
    out.files.push_back(std::move(f));
  }
  for (auto& [name, t] : topics) {
    out.bytes += t.bytes;
    out.topics.push_back(std::move(t));
  }
  return true;
}

} // namespace troupe::bridge
