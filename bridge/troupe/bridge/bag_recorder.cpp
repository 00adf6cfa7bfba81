#include "troupe/bridge/bag_recorder.hpp"

#include <chrono>
#include <vector>

namespace troupe::bridge {

namespace {

using namespace std::chrono_literals;

/// The writer commits at least this often while messages arrive, so that a
/// reader (or a crash) sees recent traffic.
constexpr auto commit_interval = 200ms;

} // namespace

std::unique_ptr<bag_recorder> bag_recorder::start(options opts,
                                                  std::string& err) {
  auto w = bag_writer::create(opts.path, opts.limits, opts.overwrite,
                              opts.source, err);
  if (!w)
    return nullptr;
  std::unique_ptr<bag_recorder> r{
    new bag_recorder{std::move(opts), std::move(w)}};
  r->thread_ = std::thread{[p = r.get()] { p->run(); }};
  return r;
}

bag_recorder::bag_recorder(options opts, std::unique_ptr<bag_writer> w)
  : opts_(std::move(opts)), writer_(std::move(w)) {
  file_ = writer_->current_file();
}

bag_recorder::~bag_recorder() {
  stop();
}

bool bag_recorder::push(std::string_view topic, std::string_view payload,
                        std::string_view meta, bool has_meta, int64_t recv_ns) {
  auto n = topic.size() + payload.size() + meta.size();
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (failed_ || stopping_) {
      dropped_error_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    if (queue_.size() >= opts_.max_queued ||
        queued_bytes_ + n > opts_.max_queued_bytes) {
      dropped_full_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    queue_.push_back(bag_message{std::string{topic}, std::string{payload},
                                 has_meta ? std::string{meta} : std::string{},
                                 has_meta, recv_ns});
    queued_bytes_ += n;
  }
  cv_.notify_one();
  return true;
}

bag_recorder::counters bag_recorder::stats() const {
  counters c;
  c.written = written_.load(std::memory_order_relaxed);
  c.written_bytes = written_bytes_.load(std::memory_order_relaxed);
  c.dropped_full = dropped_full_.load(std::memory_order_relaxed);
  c.dropped_error = dropped_error_.load(std::memory_order_relaxed);
  std::lock_guard<std::mutex> guard{mtx_};
  c.queued = queue_.size();
  c.files = files_;
  c.file = file_;
  c.error = error_;
  return c;
}

void bag_recorder::run() {
  std::deque<bag_message> batch;
  auto last_commit = std::chrono::steady_clock::now();
  std::string err;
  for (;;) {
    bool stop = false;
    {
      std::unique_lock<std::mutex> lock{mtx_};
      cv_.wait_for(lock, commit_interval,
                   [this] { return stopping_ || !queue_.empty(); });
      batch.swap(queue_);
      queued_bytes_ = 0;
      stop = stopping_;
    }
    bool ok = true;
    for (auto& m : batch) {
      if (!ok) {
        dropped_error_.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      ok =
        writer_->write(m.topic, m.payload, m.meta, m.has_meta, m.recv_ns, err);
      if (ok) {
        written_.fetch_add(1, std::memory_order_relaxed);
        written_bytes_.fetch_add(m.topic.size() + m.payload.size() +
                                   m.meta.size(),
                                 std::memory_order_relaxed);
      } else {
        dropped_error_.fetch_add(1, std::memory_order_relaxed);
      }
    }
    batch.clear();
    auto now = std::chrono::steady_clock::now();
    if (ok && (stop || now - last_commit >= commit_interval)) {
      ok = writer_->commit(err);
      last_commit = now;
    }
    {
      std::lock_guard<std::mutex> guard{mtx_};
      file_ = writer_->current_file();
      files_ = writer_->files();
      if (!ok && !failed_) {
        failed_ = true;
        error_ = err;
      }
    }
    if (stop || !ok)
      break;
  }
  if (!writer_->close(err)) {
    std::lock_guard<std::mutex> guard{mtx_};
    if (error_.empty())
      error_ = err;
  }
  // After a failure, whatever is still queued is lost: counted.
  std::lock_guard<std::mutex> guard{mtx_};
  dropped_error_.fetch_add(queue_.size(), std::memory_order_relaxed);
  queue_.clear();
  queued_bytes_ = 0;
  failed_ = true;
}

std::string bag_recorder::stop() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    stopping_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable())
    thread_.join();
  std::lock_guard<std::mutex> guard{mtx_};
  return error_;
}

} // namespace troupe::bridge
