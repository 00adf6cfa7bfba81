#include "troupe/actors/detail/log_sinks.hpp"

#include <cstdio>
#include <ctime>

#include <spdlog/details/os.h>
#include <spdlog/sinks/rotating_file_sink.h>

#include "troupe/actors/logging.hpp"

namespace troupe::detail {

namespace {

void append(spdlog::memory_buf_t& out, std::string_view x) {
  out.append(x.data(), x.data() + x.size());
}

// Length of the valid UTF-8 sequence at the start of `x`, 0 if invalid.
size_t utf8_length(std::string_view x) {
  auto b = [&x](size_t i) { return static_cast<unsigned char>(x[i]); };
  auto cont = [&](size_t i) { return i < x.size() && (b(i) & 0xC0) == 0x80; };
  auto c = b(0);
  if (c < 0x80)
    return 1;
  if (c >= 0xC2 && c <= 0xDF)
    return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1) || !cont(2))
      return 0;
    if ((c == 0xE0 && b(1) < 0xA0) || (c == 0xED && b(1) > 0x9F))
      return 0; // overlong, surrogates
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3))
      return 0;
    if ((c == 0xF0 && b(1) < 0x90) || (c == 0xF4 && b(1) > 0x8F))
      return 0;
    return 4;
  }
  return 0;
}

// "2026-12-06T15:50:01.123+01:00": local time with its offset.
void append_timestamp(spdlog::log_clock::time_point at,
                      spdlog::memory_buf_t& out) {
  using namespace std::chrono;
  auto secs = time_point_cast<seconds>(at);
  auto ms = duration_cast<milliseconds>(at - secs).count();
  std::time_t t = spdlog::log_clock::to_time_t(secs);
  std::tm tm{};
  localtime_r(&t, &tm);
  long off = tm.tm_gmtoff / 60;
  char sign = off < 0 ? '-' : '+';
  if (off < 0)
    off = -off;
  char buf[48];
  auto n = std::snprintf(
    buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03d%c%02ld:%02ld",
    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
    tm.tm_sec, static_cast<int>(ms), sign, off / 60, off % 60);
  if (n > 0)
    out.append(buf,
               buf + std::min<size_t>(static_cast<size_t>(n), sizeof(buf) - 1));
}

} // namespace

void append_json_escaped(std::string_view text, spdlog::memory_buf_t& out) {
  static constexpr char hex[] = "0123456789abcdef";
  size_t i = 0;
  while (i < text.size()) {
    auto c = static_cast<unsigned char>(text[i]);
    switch (c) {
    case '"':
      append(out, "\\\"");
      break;
    case '\\':
      append(out, "\\\\");
      break;
    case '\n':
      append(out, "\\n");
      break;
    case '\r':
      append(out, "\\r");
      break;
    case '\t':
      append(out, "\\t");
      break;
    default:
      if (c < 0x20 || c == 0x7F) {
        char esc[] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xF]};
        out.append(esc, esc + sizeof(esc));
      } else if (c < 0x80) {
        out.push_back(static_cast<char>(c));
      } else if (auto n = utf8_length(text.substr(i)); n > 0) {
        out.append(text.data() + i, text.data() + i + n);
        i += n;
        continue;
      } else {
        append(out, "\\ufffd");
      }
    }
    ++i;
  }
}

void json_log_formatter::format(const spdlog::details::log_msg& msg,
                                spdlog::memory_buf_t& dest) {
  append(dest, "{\"time\":\"");
  append_timestamp(msg.time, dest);
  append(dest, "\",\"level\":\"");
  auto level = spdlog::level::to_string_view(msg.level);
  append(dest, std::string_view{level.data(), level.size()});
  append(dest, "\",\"service\":\"");
  append_json_escaped({msg.logger_name.data(), msg.logger_name.size()}, dest);
  append(dest, "\",\"message\":\"");
  append_json_escaped({msg.payload.data(), msg.payload.size()}, dest);
  append(dest, "\",\"fields\":{\"pid\":");
  append(dest, std::to_string(spdlog::details::os::pid()));
  append(dest, ",\"thread\":");
  append(dest, std::to_string(msg.thread_id));
  // Those of log_fields, set on this (the logging) thread; the innermost
  // of a key wins, and pid/thread are kept.
  auto& fields = log_fields::current();
  for (size_t i = 0; i < fields.size(); ++i) {
    auto& f = fields[i];
    if (f.key == "pid" || f.key == "thread")
      continue;
    bool shadowed = false;
    for (size_t j = i + 1; j < fields.size() && !shadowed; ++j)
      shadowed = fields[j].key == f.key;
    if (shadowed)
      continue;
    append(dest, ",\"");
    append_json_escaped(f.key, dest);
    append(dest, "\":");
    if (f.number) {
      append(dest, f.value);
    } else {
      append(dest, "\"");
      append_json_escaped(f.value, dest);
      append(dest, "\"");
    }
  }
  append(dest, "}}\n");
}

std::unique_ptr<spdlog::formatter> json_log_formatter::clone() const {
  return std::make_unique<json_log_formatter>();
}

log_file_sink::log_file_sink(std::string file, size_t max_size,
                             size_t max_files)
  : file_(std::move(file)), max_size_(max_size), max_files_(max_files) {
  helper_.open(file_, false);
  size_ = helper_.size();
}

void log_file_sink::reopen() {
  std::lock_guard<std::mutex> guard{mutex_};
  helper_.close();
  helper_.open(file_, false);
  size_ = helper_.size();
}

void log_file_sink::sink_it_(const spdlog::details::log_msg& msg) {
  spdlog::memory_buf_t formatted;
  formatter_->format(msg, formatted);
  if (max_size_ > 0 && size_ > 0 && size_ + formatted.size() > max_size_)
    rotate();
  helper_.write(formatted);
  helper_.flush();
  size_ += formatted.size();
}

void log_file_sink::flush_() {
  helper_.flush();
}

void log_file_sink::rotate() {
  using rotating = spdlog::sinks::rotating_file_sink_mt;
  helper_.close();
  // app.log -> app.1.log -> app.2.log ...; the oldest is overwritten.
  for (auto i = max_files_; i > 0; --i) {
    auto src = i == 1 ? file_ : rotating::calc_filename(file_, i - 1);
    auto dst = rotating::calc_filename(file_, i);
    if (spdlog::details::os::path_exists(src))
      std::rename(src.c_str(), dst.c_str());
  }
  // Truncates when max_files_ is 0: the file starts over.
  helper_.open(file_, true);
  size_ = 0;
}

} // namespace troupe::detail
