#include "troupe/bridge/bag.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <sqlite3.h>
#include <unistd.h>

#include "troupe/bridge/bag_recorder.hpp"

using namespace troupe::bridge;
namespace fs = std::filesystem;

namespace {

// A fresh directory per test, removed afterwards.
class bag_test : public ::testing::Test {
protected:
  void SetUp() override {
    auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("troupe-bag-" + std::to_string(::getpid()) + "-" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const {
    return (dir_ / name).string();
  }

  // Writes `n` messages on topics a.0, a.1, b.0 ... 100 ms apart.
  std::string write_bag(const std::string& name, int n, bag_limits lim = {}) {
    std::string err;
    auto w = bag_writer::create(path(name), lim, false, "test", err);
    EXPECT_TRUE(w) << err;
    if (!w)
      return {};
    for (int i = 0; i < n; ++i) {
      auto topic = std::string{i % 3 == 2 ? "b." : "a."} + std::to_string(i);
      auto payload = R"({"i": )" + std::to_string(i) + "}";
      EXPECT_TRUE(
        w->write(topic, payload, "", false, 1000 + i * 100'000'000LL, err))
        << err;
      if (i % 50 == 49) {
        EXPECT_TRUE(w->commit(err)) << err;
      }
    }
    EXPECT_TRUE(w->close(err)) << err;
    return path(name);
  }

  std::vector<bag_message> read_all(const std::string& file,
                                    std::vector<std::string> topics = {}) {
    std::string err;
    auto r = bag_reader::open(file, err);
    EXPECT_TRUE(r) << err;
    std::vector<bag_message> out;
    if (!r)
      return out;
    r->set_topics(std::move(topics));
    bag_message m;
    while (r->next(m, err))
      out.push_back(m);
    EXPECT_EQ(err, "");
    return out;
  }

  // Runs SQL on a file (creating it), for files of another format.
  static void sql(const std::string& file, const char* text) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(file.c_str(), &db), SQLITE_OK);
    char* msg = nullptr;
    auto rc = sqlite3_exec(db, text, nullptr, nullptr, &msg);
    std::string why = msg != nullptr ? msg : "";
    sqlite3_free(msg);
    sqlite3_close(db);
    ASSERT_EQ(rc, SQLITE_OK) << why;
  }

  fs::path dir_;
};

} // namespace

TEST_F(bag_test, round_trip_keeps_topic_payload_meta_and_time) {
  std::string err;
  auto w = bag_writer::create(path("r.bag"), {}, false, "tcp://x:1", err);
  ASSERT_TRUE(w) << err;
  std::string binary{"\0\xff\xfe raw", 7};
  ASSERT_TRUE(w->write("orders.new", R"({"id": 1})", "", false, 5, err));
  ASSERT_TRUE(w->write("orders.new", "{}", R"({"seq": 2})", true, 7, err));
  ASSERT_TRUE(w->write("raw.x", binary, "", true, 9, err));
  ASSERT_TRUE(w->close(err)) << err;
  EXPECT_EQ(w->messages(), 3u);
  auto all = read_all(path("r.bag"));
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].topic, "orders.new");
  EXPECT_EQ(all[0].payload, R"({"id": 1})");
  EXPECT_FALSE(all[0].has_meta);
  EXPECT_EQ(all[0].recv_ns, 5);
  EXPECT_EQ(all[1].meta, R"({"seq": 2})");
  EXPECT_TRUE(all[1].has_meta);
  EXPECT_EQ(all[2].payload, binary);
  EXPECT_TRUE(all[2].has_meta); // an empty meta frame is kept as one
  EXPECT_EQ(all[2].meta, "");
  EXPECT_EQ(read_all(path("r.bag"), {"raw."}).size(), 1u);
  auto r = bag_reader::open(path("r.bag"), err);
  ASSERT_TRUE(r) << err;
  bag_summary s;
  ASSERT_TRUE(r->summarize(s, err)) << err;
  EXPECT_EQ(s.messages, 3u);
  EXPECT_EQ(s.source, "tcp://x:1");
  EXPECT_EQ(s.first_ns, 5);
  EXPECT_EQ(s.last_ns, 9);
  ASSERT_EQ(s.topics.size(), 2u);
  EXPECT_EQ(s.topics[0].topic, "orders.new");
  EXPECT_EQ(s.topics[0].messages, 2u);
  EXPECT_EQ(s.topics[0].bytes, 10u + 9u + 10u + 2u + 10u);
  EXPECT_EQ(s.files.size(), 1u);
}

TEST_F(bag_test, rotates_by_duration_and_reads_the_splits_in_order) {
  // 100 ms apart, at most 1 s per file: 10 messages per file.
  auto file = write_bag("d.bag", 25, {0, std::chrono::seconds{1}});
  auto all = read_all(file);
  ASSERT_EQ(all.size(), 25u);
  for (size_t i = 1; i < all.size(); ++i)
    EXPECT_LT(all[i - 1].recv_ns, all[i].recv_ns);
  EXPECT_TRUE(fs::exists(bag_split_path(file, 1)));
  EXPECT_TRUE(fs::exists(bag_split_path(file, 2)));
  EXPECT_FALSE(fs::exists(bag_split_path(file, 3)));
  std::string err;
  auto r = bag_reader::open(file, err);
  ASSERT_TRUE(r) << err;
  bag_summary s;
  ASSERT_TRUE(r->summarize(s, err)) << err;
  ASSERT_EQ(s.files.size(), 3u);
  EXPECT_EQ(s.files[0].messages, 10u);
  EXPECT_EQ(s.files[2].messages, 5u);
  EXPECT_EQ(s.messages, 25u);
  EXPECT_EQ(s.last_ns - s.first_ns, 2'400'000'000LL);
}

TEST_F(bag_test, rotates_by_size) {
  std::string err;
  bag_limits lim;
  lim.max_bytes = uint64_t{64} * 1024;
  auto w = bag_writer::create(path("s.bag"), lim, false, "", err);
  ASSERT_TRUE(w) << err;
  std::string payload(1000, 'x');
  for (int i = 0; i < 300; ++i) {
    ASSERT_TRUE(w->write("t", payload, "", false, i, err)) << err;
    if (i % 10 == 9) {
      ASSERT_TRUE(w->commit(err)) << err;
    }
  }
  ASSERT_TRUE(w->close(err));
  EXPECT_GE(w->files(), 4u); // 300 KB in 64 KB files
  for (size_t n = 0; n < w->files(); ++n) {
    EXPECT_LT(fs::file_size(bag_split_path(path("s.bag"), n)), 2 * 64 * 1024u);
  }
  EXPECT_EQ(read_all(path("s.bag")).size(), 300u);
}

TEST_F(bag_test, refuses_to_overwrite_unless_asked) {
  write_bag("o.bag", 3, {0, std::chrono::milliseconds{150}});
  ASSERT_TRUE(fs::exists(path("o.bag.1")));
  std::string err;
  EXPECT_FALSE(bag_writer::create(path("o.bag"), {}, false, "", err));
  EXPECT_NE(err.find("o.bag: exists"), std::string::npos) << err;
  auto w = bag_writer::create(path("o.bag"), {}, true, "", err);
  ASSERT_TRUE(w) << err;
  EXPECT_FALSE(fs::exists(path("o.bag.1"))); // the old splits are gone
  ASSERT_TRUE(w->close(err));
  EXPECT_EQ(read_all(path("o.bag")).size(), 0u);
  // A stale split without its first file is refused (a rotation would stop
  // at it), or removed with overwrite.
  write_bag("p.bag", 3, {0, std::chrono::milliseconds{150}});
  fs::remove(path("p.bag"));
  EXPECT_FALSE(bag_writer::create(path("p.bag"), {}, false, "", err));
  EXPECT_NE(err.find("p.bag.1: exists"), std::string::npos) << err;
  ASSERT_TRUE(bag_writer::create(path("p.bag"), {}, true, "", err)) << err;
  EXPECT_FALSE(fs::exists(path("p.bag.1")));
}

TEST_F(bag_test, a_truncated_file_is_refused_naming_the_file) {
  auto file = write_bag("t.bag", 500);
  auto size = fs::file_size(file);
  fs::resize_file(file, size / 2);
  auto err = check_bag_file(file);
  EXPECT_EQ(err.rfind(file + ": truncated: the SQLite header says", 0), 0u)
    << err;
  std::string open_err;
  EXPECT_FALSE(bag_reader::open(file, open_err));
  EXPECT_EQ(open_err, err);
  fs::resize_file(file, 40);
  EXPECT_NE(check_bag_file(file).find("truncated: 40 bytes"),
            std::string::npos);
  fs::resize_file(file, 0);
  EXPECT_NE(check_bag_file(file).find("empty file"), std::string::npos);
}

TEST_F(bag_test, a_file_of_another_format_is_refused) {
  {
    std::ofstream out{path("text.bag")};
    out << "topic,payload\norders.new,{}\n";
  }
  EXPECT_EQ(check_bag_file(path("text.bag")),
            path("text.bag") + ": not a troupe bag: not an SQLite 3 database "
                               "(a troupe bag is one)");
  sql(path("other.db"), "CREATE TABLE x (a INTEGER)");
  EXPECT_EQ(check_bag_file(path("other.db")),
            path("other.db") + ": not a troupe bag: an SQLite database "
                               "without a troupe_bag header table");
  sql(path("ros.db"), "CREATE TABLE troupe_bag (key TEXT, value TEXT);"
                      "INSERT INTO troupe_bag VALUES ('format', 'rosbag2')");
  EXPECT_EQ(check_bag_file(path("ros.db")),
            path("ros.db") +
              ": not a troupe bag: format 'rosbag2', expected 'troupe.bag'");
  auto v2 = write_bag("v2.bag", 1);
  sql(v2, "UPDATE troupe_bag SET value = '2' WHERE key = 'version'");
  EXPECT_EQ(check_bag_file(v2),
            v2 + ": troupe bag version '2'; this troupe reads version 1");
  EXPECT_EQ(check_bag_file(path("missing.bag")),
            path("missing.bag") + ": no such file");
}

TEST_F(bag_test, a_corrupt_page_is_refused) {
  auto file = write_bag("c.bag", 500);
  {
    // Garbage over the second half of the file, size unchanged.
    std::fstream f{file, std::ios::in | std::ios::out | std::ios::binary};
    auto size = fs::file_size(file);
    f.seekp(static_cast<std::streamoff>(size / 2));
    std::string junk(size / 2, '\x5a');
    f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  }
  auto err = check_bag_file(file);
  EXPECT_EQ(err.rfind(file + ": corrupt: ", 0), 0u) << err;
}

TEST_F(bag_test, a_split_of_another_recording_is_refused) {
  write_bag("a.bag", 12, {0, std::chrono::seconds{1}});
  write_bag("b.bag", 12, {0, std::chrono::seconds{1}});
  fs::copy_file(path("b.bag.1"), path("a.bag.1"),
                fs::copy_options::overwrite_existing);
  std::string err;
  EXPECT_FALSE(bag_reader::open(path("a.bag"), err));
  EXPECT_NE(err.find("a.bag.1: not split 1 of the recording"),
            std::string::npos)
    << err;
  EXPECT_FALSE(bag_reader::open(path("b.bag.1"), err));
  EXPECT_NE(err.find("split 1 of a recording"), std::string::npos) << err;
}

TEST_F(bag_test, recorder_writes_everything_it_queued) {
  std::string err;
  bag_recorder::options opts;
  opts.path = path("rec.bag");
  auto rec = bag_recorder::start(opts, err);
  ASSERT_TRUE(rec) << err;
  for (int i = 0; i < 1000; ++i)
    rec->push("t." + std::to_string(i % 4), "{}", "", false, i);
  EXPECT_EQ(rec->stop(), "");
  auto s = rec->stats();
  EXPECT_EQ(s.written + s.dropped_full, 1000u);
  EXPECT_EQ(s.dropped_error, 0u);
  EXPECT_EQ(read_all(path("rec.bag")).size(), s.written);
  // After stop nothing is taken, and that is counted.
  EXPECT_FALSE(rec->push("t", "{}", "", false, 1));
  EXPECT_EQ(rec->stats().dropped_error, 1u);
}

TEST_F(bag_test, recorder_counts_what_does_not_fit_in_its_queue) {
  std::string err;
  bag_recorder::options opts;
  opts.path = path("q.bag");
  opts.max_queued_bytes = 50;
  auto rec = bag_recorder::start(opts, err);
  ASSERT_TRUE(rec) << err;
  EXPECT_FALSE(rec->push("t", std::string(100, 'x'), "", false, 1));
  EXPECT_TRUE(rec->push("t", "{}", "", false, 2));
  EXPECT_EQ(rec->stop(), "");
  auto s = rec->stats();
  EXPECT_EQ(s.dropped_full, 1u);
  EXPECT_EQ(rec->dropped(), 1u);
  EXPECT_EQ(s.written, 1u);
  EXPECT_EQ(read_all(path("q.bag")).size(), 1u);
}

// A bag is read while it is recorded (`troupe bag info` on a live bag, any
// SQLite tool): a reader in the middle of a read must not make the writer's
// commit fail, which would end the recording. When the writer is done, the
// file stands alone (no -wal or -journal beside it).
TEST_F(bag_test, a_reader_does_not_stop_the_writer) {
  std::string err;
  auto w = bag_writer::create(path("live.bag"), {}, false, "test", err);
  ASSERT_TRUE(w) << err;
  ASSERT_TRUE(w->write("a", "{}", "", false, 1, err)) << err;
  ASSERT_TRUE(w->commit(err)) << err;
  EXPECT_EQ(check_bag_file(path("live.bag")), "");
  // A reader stopped in the middle of its read: it holds its read
  // transaction while the writer writes and commits.
  auto r = bag_reader::open(path("live.bag"), err);
  ASSERT_TRUE(r) << err;
  bag_message m;
  ASSERT_TRUE(r->next(m, err)) << err;
  for (int i = 2; i <= 100; ++i) {
    ASSERT_TRUE(w->write("a", "{}", "", false, i, err)) << err;
    if (i % 10 == 0) {
      ASSERT_TRUE(w->commit(err)) << "commit " << i / 10 << ": " << err;
    }
  }
  EXPECT_EQ(check_bag_file(path("live.bag")), "");
  r.reset();
  ASSERT_TRUE(w->close(err)) << err;
  EXPECT_EQ(read_all(path("live.bag")).size(), 100u);
  EXPECT_FALSE(fs::exists(path("live.bag") + "-wal"));
  EXPECT_FALSE(fs::exists(path("live.bag") + "-journal"));
  EXPECT_EQ(check_bag_file(path("live.bag")), "");
}
