#pragma once

// Bags: recorded bridge traffic in SQLite files (as rosbag2 keeps ROS
// topics). No CAF and no ZMQ here: `troupe record`, `troupe replay`,
// `troupe bag info`, troupe-bench and the bridge's `record` option share it.
//
// One bag file is an SQLite 3 database with two tables:
//
//   troupe_bag (key TEXT PRIMARY KEY, value TEXT)   -- the header:
//     format = "troupe.bag", version = "1", recording (an id shared by the
//     files of one recording), split (0, 1, 2 ...), source, created_ns
//   messages (id INTEGER PRIMARY KEY, recv_ns INTEGER, topic BLOB,
//             payload BLOB, meta BLOB)               -- meta NULL: none
//
// A recording bounded by size or duration rotates: FILE, FILE.1, FILE.2 ...
// A reader opened on FILE reads them in that order.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace troupe::bridge {

/// The `format` value in a bag's header.
inline constexpr std::string_view bag_format = "troupe.bag";

/// The bag format version this troupe writes and reads.
inline constexpr int bag_version = 1;

/// One recorded message.
struct bag_message {
  std::string topic;
  std::string payload;
  std::string meta;
  bool has_meta = false;
  /// When it was received: nanoseconds since the Unix epoch.
  int64_t recv_ns = 0;
};

/// Bounds of one bag file; the writer moves on to the next file (FILE.1,
/// FILE.2 ...) when one is reached. Zero: no bound.
struct bag_limits {
  /// Bytes of one file (SQLite pages in use, checked at each commit).
  uint64_t max_bytes = 0;
  /// Receive time from the first to the last message of one file.
  std::chrono::nanoseconds max_duration{0};
};

/// The name of split `n` of the recording in `path`: `path` for 0,
/// `path.N` after.
std::string bag_split_path(const std::string& path, size_t n);

/// Removes the recording in `path`: FILE, its splits FILE.1 ... (also when
/// FILE itself is gone) and SQLite's side files. Returns "" or what could
/// not be removed, naming the file.
std::string remove_bag(const std::string& path);

/// Checks that `path` is a complete troupe bag file of a version this troupe
/// reads. Returns "" or what is wrong, naming the file ("FILE: truncated:
/// ...", "FILE: not a troupe bag: ...").
std::string check_bag_file(const std::string& path);

/// Writes messages into a bag, in transactions, rotating files at the
/// limits. Not thread-safe: one thread writes (bag_recorder gives a queue).
class bag_writer {
public:
  /// Creates FILE (and later FILE.1 ...). Refuses when FILE exists, unless
  /// `overwrite` (then FILE and its FILE.N splits are removed first).
  /// Returns nullptr and sets `err` on failure.
  static std::unique_ptr<bag_writer> create(const std::string& path,
                                            bag_limits limits, bool overwrite,
                                            std::string source,
                                            std::string& err);

  ~bag_writer();
  bag_writer(const bag_writer&) = delete;
  bag_writer& operator=(const bag_writer&) = delete;

  /// Adds one message (inside the current transaction). Returns false and
  /// sets `err` when SQLite fails (e.g. the disk is full).
  bool write(std::string_view topic, std::string_view payload,
             std::string_view meta, bool has_meta, int64_t recv_ns,
             std::string& err);

  /// Commits what was written; rotates when the file reached max_bytes.
  bool commit(std::string& err);

  /// Commits and closes the current file. Idempotent.
  bool close(std::string& err);

  /// The file being written.
  const std::string& current_file() const noexcept;
  /// How many files this recording has so far (1 + rotations).
  size_t files() const noexcept;
  /// Messages written in all files.
  uint64_t messages() const noexcept;
  /// Bytes of topic, payload and meta written in all files.
  uint64_t bytes() const noexcept;

private:
  struct impl;
  explicit bag_writer(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

/// Per topic: how many messages and their bytes (topic + payload + meta).
struct bag_topic_summary {
  std::string topic;
  uint64_t messages = 0;
  uint64_t bytes = 0;
};

/// One file of a recording.
struct bag_file_summary {
  std::string path;
  uint64_t file_bytes = 0;
  uint64_t messages = 0;
  int64_t first_ns = 0;
  int64_t last_ns = 0;
};

/// What `troupe bag info` prints.
struct bag_summary {
  std::string recording;
  std::string source;
  int version = 0;
  std::vector<bag_file_summary> files;
  std::vector<bag_topic_summary> topics;
  uint64_t messages = 0;
  uint64_t bytes = 0;
  int64_t first_ns = 0;
  int64_t last_ns = 0;
};

/// Reads a recording (FILE, FILE.1 ...) in order of receipt. Every file is
/// checked (check_bag_file) when the reader is opened.
class bag_reader {
public:
  /// Opens FILE and its splits. Returns nullptr and sets `err` when a file
  /// is missing, truncated, corrupt or of another format.
  static std::unique_ptr<bag_reader> open(const std::string& path,
                                          std::string& err);

  ~bag_reader();
  bag_reader(const bag_reader&) = delete;
  bag_reader& operator=(const bag_reader&) = delete;

  /// Reads the next message whose topic starts with one of `prefixes`
  /// (every message when there are none). False at the end, or on an error
  /// (then `err` says what is wrong).
  bool next(bag_message& out, std::string& err);

  /// Starts again at the first message.
  void rewind();

  /// Counts per file and per topic.
  bool summarize(bag_summary& out, std::string& err);

  /// Restricts next() to topics with one of these prefixes.
  void set_topics(std::vector<std::string> prefixes);

  /// The files of the recording, in order.
  const std::vector<std::string>& files() const noexcept;

private:
  struct impl;
  explicit bag_reader(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

} // namespace troupe::bridge
