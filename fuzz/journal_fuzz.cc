// The journal reader on arbitrary bytes after a valid header: replay hands over the intact
// records and cuts the rest off, or refuses the file; never a crash, a hang or a huge
// allocation. A second replay of the cut file must see the same records and cut nothing.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "real/journal.h"

using namespace fulcrum::real;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string dir = "/tmp/fulcrum_journal_fuzz_" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  const std::string file = dir + "/journal.log";
  {
    // The header of an empty journal, written by the journal itself, then the input.
    std::filesystem::remove(file);
    { auto fresh = Journal::open(dir); if (!fresh.ok()) __builtin_trap(); }
    std::ofstream out(file, std::ios::binary | std::ios::app);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  std::uint64_t first = 0;
  {
    auto journal = Journal::open(dir);
    if (!journal.ok()) return 0;
    auto stats = (*journal)->replay([](const fulcrum::JournalRecord&) {});
    if (!stats.ok()) return 0;
    first = stats->records;
  }
  auto journal = Journal::open(dir);
  if (!journal.ok()) __builtin_trap();
  auto stats = (*journal)->replay([](const fulcrum::JournalRecord&) {});
  if (!stats.ok() || stats->records != first || stats->truncated_bytes != 0) __builtin_trap();
  return 0;
}
