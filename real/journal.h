// The real-mode scheduler's write-ahead journal: an append-only file of the events that
// must survive a scheduler crash (a job accepted, a task finished or failed for good, a
// job cancelled). The daemon journals an event and commits it *before* it applies it to
// the core and before it acknowledges it to anyone; a restarted scheduler replays the
// journal into a fresh core to rebuild its state (see DESIGN.md, "Durable state is
// event-sourced").
//
// Contract:
//  - open() creates DIR (and its parents) and DIR/journal.log if needed, checks the file
//    header, and takes an exclusive flock on the file so that two daemons cannot write one
//    journal (the lock dies with the process, so a crash never leaves it stale).
//  - replay() must be called exactly once, before the first append(). It hands every
//    intact record to `apply` in file order. The first record that is not intact (short:
//    a crash mid-write; a bad length or checksum: a torn or garbled sector) ends the
//    journal: it and everything after it are cut off the file, even if valid-looking
//    records follow, because records after a hole were never acknowledged (a commit
//    returns only once all earlier bytes are durable) and skipping a hole would replay a
//    history with an event missing.
//    A record whose checksum is good but which cannot be decoded (an unknown record type
//    or format version: written by a newer build) is not corruption: replay() returns an
//    Error and leaves the file untouched.
//  - append() only encodes the record into a memory buffer; commit() writes the whole
//    batch with one write and makes it durable with one fdatasync (group commit). A
//    record counts as journaled only once commit() has returned true.
//  - The destructor does NOT commit: what was appended but not committed is lost, exactly
//    as in a crash, and nobody was told it was safe.
//  - A commit that fails (write or fdatasync error) leaves the Journal broken: the file is
//    cut back to its last committed size (best effort) and every later commit() fails.
//    After a failed fdatasync the kernel may already have dropped the dirty pages, so
//    retrying cannot be trusted; the daemon should exit and let a restart replay.
//
// Not thread-safe: one Journal is owned by the scheduler daemon's event loop.
//
// On disk (all integers little-endian):
//   header  "FULCRUMJ" u32 file_version=1
//   record  u32 length, u32 crc32(body), body[length]   (length <= kMaxRecordBytes)
//   body    u8 type (1 JobAccepted, 2 TaskFinished, 3 TaskFailed, 4 JobCancelled,
//           5 JobPlanned),
//           u8 record_version (TaskFinished 1, JobAccepted 3, TaskFailed 2, JobCancelled
//           2, JobPlanned 1), then the record's fields through its field list (core/durable.h) in the
//           binary form of core/codec.h. Older versions are still read: JobAccepted 1 and
//           2 (a task was kind, command, flops, timeout, parents; 2 added request_id),
//           TaskFailed 1 (no start), JobCancelled 1 (no attempts and starts).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/expected.h"
#include "core/durable.h"

namespace fulcrum::real {

// A record body larger than this is refused: on replay a length above it is read as
// corruption (a garbled length must not make us allocate gigabytes), so commit() refuses
// to write one. Callers that accept arbitrary input (a client's job) should bound it
// well below this.
inline constexpr std::size_t kMaxRecordBytes = 64u << 20;

// The CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320) that guards each record.
// Exposed for tests and inspection tools.
std::uint32_t crc32(std::string_view data);

struct JournalReplayStats {
  std::uint64_t records = 0;          // records handed to `apply`
  std::uint64_t truncated_bytes = 0;  // torn or corrupt tail cut off the file
};

// Where the scheduler daemon keeps its journal: the local file below (the embedded
// default) or ZooKeeper (real/zk_journal.h, high-availability mode). Same contract as
// Journal's replay/append/commit.
class JournalStore {
 public:
  virtual ~JournalStore() = default;
  virtual Expected<JournalReplayStats> replay(const std::function<void(const JournalRecord&)>& apply) = 0;
  virtual void append(const JournalRecord& record) = 0;
  virtual Expected<bool> commit() = 0;
  // The largest record body this store can hold. A record above it fails its whole batch
  // at commit, so the daemon refuses a client's job whose record would be larger.
  virtual std::size_t max_record_bytes() const = 0;
};

// The record framing of the file (u32 length, u32 crc32, body), reused by ZkJournal for
// its batches. encode_record appends one framed record to `out` and returns the body's
// length (a body above kMaxRecordBytes is not appended). decode_records hands every
// record of `data` to `apply`; a short, over-long or bad-checksum frame, or a body it
// cannot decode, is an Error naming `where`.
std::size_t encode_record(const JournalRecord& record, std::string& out);
Expected<std::uint64_t> decode_records(std::string_view data, const std::string& where,
                                       const std::function<void(const JournalRecord&)>& apply);

class Journal : public JournalStore {
 public:
  // Opens (creating if needed) DIR/journal.log. The Error names the path and the errno
  // text; a file without the journal header is refused as "not a fulcrum journal".
  static Expected<std::unique_ptr<Journal>> open(const std::string& dir);

  ~Journal() override;  // closes the file; does NOT commit (see above)
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  using ReplayStats = JournalReplayStats;
  // Reads every intact record from the start, in order, calling `apply` for each, and cuts
  // off a torn or corrupt tail (see above). REQUIRES: called once, before append().
  Expected<ReplayStats> replay(const std::function<void(const JournalRecord&)>& apply) override;

  // Buffers a record: encodes it in memory, no I/O.
  void append(const JournalRecord& record) override;

  // Group commit: writes everything appended since the last commit with one write and one
  // fdatasync. Returns true once it is durable; a no-op (true) when nothing is pending.
  // All or nothing for the caller: on an Error no record of the batch counts as journaled.
  // A batch holding a record above kMaxRecordBytes is dropped whole with an Error and
  // the journal stays usable; an I/O error breaks the journal (see above).
  Expected<bool> commit() override;
  std::size_t max_record_bytes() const override { return kMaxRecordBytes; }

  std::uint64_t pending() const { return pending_records_; }  // appended, not committed
  std::uint64_t committed_records() const { return committed_records_; }  // incl. replayed
  std::uint64_t bytes() const { return size_; }  // file size, header included

 private:
  Journal(int fd, std::string path, std::uint64_t size);

  // Cuts the file back to `size` and makes that durable.
  Expected<bool> truncate_to(std::uint64_t size);

  int fd_;
  std::string path_;
  std::uint64_t size_;              // bytes of the file that are committed
  bool replayed_ = false;
  std::string broken_;              // non-empty: an earlier commit failed, this is why
  std::string batch_;               // framed records appended since the last commit
  std::uint64_t pending_records_ = 0;
  std::size_t oversized_ = 0;       // size of a pending record above the limit, if any
  std::uint64_t committed_records_ = 0;
};

}  // namespace fulcrum::real
