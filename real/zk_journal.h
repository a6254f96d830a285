// The scheduler's journal kept in ZooKeeper, for replicated schedulers (docs/real/ha-zookeeper.md
// and docs/real/journal-format.md). Layout under ROOT:
//   ROOT/epoch            the last epoch taken (decimal); its znode version fences writes
//   ROOT/journal/b-NNNNNNNNNN   PERSISTENT_SEQUENTIAL batches: records framed exactly as
//                         in the file journal (u32 length, u32 crc32, body), < 512 KB each
//   ROOT/snapshot         "SEQ CHUNKS NAME": the latest snapshot holds every record of
//                         the batches up to sequence number SEQ ("" : no snapshot yet)
//   ROOT/snapshots/NAME/c-NNNNNN  its chunks, framed records again, < 512 KB each; NAME
//                         is SEQ (10 digits) "-" the writer's fence version, unique
//   ROOT/election/n-NNNNNNNNNN  EPHEMERAL_SEQUENTIAL, one per replica (data: its address)
//   ROOT/leader           EPHEMERAL, the leader's "HOST:PORT EPOCH"
//
// A leader takes the next epoch with a compare-and-set on ROOT/epoch and remembers the
// version it set; every write is a multi-op {check ROOT/epoch at that version, ...}, so
// once a newer leader has taken the epoch a deposed leader's write fails whole
// (ZBADVERSION) and its journal breaks: it must stop.
//
// Snapshots with compaction: after at least `snapshot_every` batches, once the history has
// grown by half since the last snapshot (or after kZkMaxBatchesBetweenSnapshots batches),
// the leader writes its whole history (the records replayed and committed so far) as a
// few large chunks, points ROOT/snapshot at them, then deletes the batches they cover and
// the older snapshot. So
// what a new replica reads is a few chunks plus the batches since, not one znode per
// commit ever made, and ROOT/journal's child list stays far below ZooKeeper's 1 MB reply
// limit. A leader that dies midway leaves either the old pointer (the new chunks are
// garbage) or the new one with batches it covers (skipped by readers); either is cleaned
// up by the next leader's first commit, and a compaction that failed (a lost connection)
// is tried again at the leader's next commit.
//
// A standby follows the journal: catch_up() reads the snapshot if it is ahead of what the
// standby has, then the batches after it, in sequence order. If the pointer moved while
// it read the batches (a compaction may have deleted some before it saw them), it drops
// what that pass read and reads again, from the new snapshot. replay() (after promotion) reads
// the rest and hands every record to `apply`, exactly as the file journal's replay does.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "real/journal.h"
#include "real/zk.h"

namespace fulcrum::real {

inline constexpr std::size_t kZkMaxBatchBytes = 512u << 10;
// 50,000 batch names of 12 bytes stay well inside ZooKeeper's 1 MB reply to a listing.
inline constexpr std::uint64_t kZkMaxBatchesBetweenSnapshots = 50000;
// A single record must fit one znode (ZooKeeper's default jute.maxbuffer is 1 MB).
inline constexpr std::size_t kZkMaxRecordBytes = 1000u << 10;

// Creates ROOT, ROOT/election, ROOT/journal, ROOT/snapshots, ROOT/snapshot ("") and
// ROOT/epoch ("0") where missing.
Expected<bool> zk_prepare_root(ZkClient& zk, const std::string& root);

struct ZkEpoch {
  std::uint64_t epoch = 0;
  std::int32_t version = 0;  // ROOT/epoch's version after the bump: the fence
};
// Takes the next epoch (compare-and-set, retried on a race).
Expected<ZkEpoch> zk_take_epoch(ZkClient& zk, const std::string& root);

class ZkJournal : public JournalStore {
 public:
  // `snapshot_every`: batches committed, at least, between snapshots (0: never).
  ZkJournal(ZkClient& zk, std::string root, std::uint64_t snapshot_every = 1000)
      : zk_(zk), root_(std::move(root)), snapshot_every_(snapshot_every) {}

  // Follower: reads what was written since the last call; `watch` leaves a watch on
  // ROOT/journal's children (the event says there is more). Returns the records added.
  Expected<std::uint64_t> catch_up(bool watch);
  std::uint64_t followed_records() const { return records_; }
  std::uint64_t batches_read() const { return batches_read_; }
  std::uint64_t snapshots_read() const { return snapshots_read_; }
  std::uint64_t snapshots_written() const { return snapshots_written_; }
  // A seam for tests: runs in catch_up() between reading the snapshot pointer and listing
  // the batches, where a concurrent compaction does the most harm.
  void set_before_listing(std::function<void()> hook) { before_listing_ = std::move(hook); }
  // Why the last snapshot or compaction attempt failed ("" if it did not); either is tried
  // again at the next commit.
  const std::string& snapshot_error() const { return snapshot_error_; }

  // Leader: writes are fenced by this version of ROOT/epoch (see zk_take_epoch).
  // A new leader's first commit finishes any compaction an earlier leader left undone.
  void set_fence(std::int32_t epoch_version) {
    fence_ = epoch_version;
    fenced_ = true;
    compact_due_ = true;
  }

  Expected<JournalReplayStats> replay(const std::function<void(const JournalRecord&)>& apply) override;
  void append(const JournalRecord& record) override;
  // Writes the batch; then, when due, a snapshot (see above). A
  // snapshot that fails is tried again at the next commit; one that finds this leader
  // fenced fails the commit (the batch itself is durable, but the leader must stop).
  Expected<bool> commit() override;
  std::size_t max_record_bytes() const override { return kZkMaxRecordBytes; }

 private:
  struct SnapshotPointer {
    std::int64_t seq = -1;  // -1: none
    std::uint32_t chunks = 0;
    std::string name;       // its folder under ROOT/snapshots
  };
  Expected<SnapshotPointer> read_pointer();
  // One pass of catch_up: false when a compaction ran meanwhile (read again).
  Expected<bool> catch_up_once(bool watch, std::uint64_t& added);
  // `rc`: the ZooKeeper code of the call that failed (ZBADVERSION: fenced).
  Expected<bool> snapshot(int& rc);
  // Deletes the batches ROOT/snapshot covers and every snapshot folder but its own;
  // clears compact_due_ once done.
  Expected<bool> compact(int& rc);

  ZkClient& zk_;
  std::string root_;
  std::uint64_t snapshot_every_;
  std::string history_;                // every record known, framed, in order
  std::uint64_t records_ = 0;          // records in history_
  std::int64_t position_ = -1;         // sequence number of the last batch in history_
  std::uint64_t since_snapshot_ = 0;   // batches in history_ after the last snapshot
  std::size_t snapshot_bytes_ = 0;     // bytes of history_ the last snapshot held
  std::uint64_t batches_read_ = 0;
  std::uint64_t snapshots_read_ = 0;
  std::uint64_t snapshots_written_ = 0;
  bool fenced_ = false;
  std::int32_t fence_ = -1;
  std::string pending_;                // framed records appended since the last commit
  std::vector<std::size_t> ends_;      // where each pending record ends in pending_
  std::size_t oversized_ = 0;
  std::string broken_;
  std::string snapshot_error_;
  bool compact_due_ = false;           // a compaction to do (or finish) at the next commit
  std::function<void()> before_listing_;
};

}  // namespace fulcrum::real
