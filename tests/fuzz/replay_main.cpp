// Replays fuzz inputs without libFuzzer: calls LLVMFuzzerTestOneInput once
// per file. Linked with a fuzz target by g++ so that every normal test run
// (and the sanitizer preset) checks the seed corpus and the saved crashes.
//
//   fuzz-replay-fuzz_wire DIR_OR_FILE...
//
// Directories are read non-recursively in name order; names starting with
// '.' are skipped. A missing path is an error: a renamed corpus must not
// turn the test into a no-op.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

namespace fs = std::filesystem;

bool replay_file(const fs::path& file) {
  std::ifstream in{file, std::ios::binary};
  if (!in) {
    std::fprintf(stderr, "cannot read %s\n", file.c_str());
    return false;
  }
  std::vector<char> bytes{std::istreambuf_iterator<char>{in},
                          std::istreambuf_iterator<char>{}};
  // A copy of exactly `size` bytes, so that ASan sees reads past the end.
  std::vector<uint8_t> input(bytes.begin(), bytes.end());
  std::fprintf(stderr, "replay %s (%zu bytes)\n", file.c_str(), input.size());
  LLVMFuzzerTestOneInput(input.empty() ? nullptr : input.data(), input.size());
  return true;
}

} // namespace

int main(int argc, char** argv) {
  size_t replayed = 0;
  for (int i = 1; i < argc; ++i) {
    fs::path arg{argv[i]};
    std::error_code ec;
    if (fs::is_directory(arg, ec)) {
      std::vector<fs::path> files;
      for (auto& entry : fs::directory_iterator{arg, ec})
        if (entry.is_regular_file() &&
            entry.path().filename().string().front() != '.')
          files.push_back(entry.path());
      if (ec) {
        std::fprintf(stderr, "cannot list %s: %s\n", argv[i],
                     ec.message().c_str());
        return 1;
      }
      std::sort(files.begin(), files.end());
      for (auto& f : files) {
        if (!replay_file(f))
          return 1;
        ++replayed;
      }
    } else if (fs::is_regular_file(arg, ec)) {
      if (!replay_file(arg))
        return 1;
      ++replayed;
    } else {
      std::fprintf(stderr, "no such file or directory: %s\n", argv[i]);
      return 1;
    }
  }
  std::printf("replayed %zu inputs\n", replayed);
  return 0;
}
