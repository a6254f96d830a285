// The scheduler's journal kept in ZooKeeper, for replicated schedulers (README "High
// availability with ZooKeeper"). Layout under ROOT:
//   ROOT/epoch            the last epoch taken (decimal); its znode version fences writes
//   ROOT/journal/b-NNNNNNNNNN   PERSISTENT_SEQUENTIAL batches: records framed exactly as
//                         in the file journal (u32 length, u32 crc32, body), < 512 KB each
//   ROOT/election/n-NNNNNNNNNN  EPHEMERAL_SEQUENTIAL, one per replica (data: its address)
//   ROOT/leader           EPHEMERAL, the leader's "HOST:PORT EPOCH"
//
// A leader takes the next epoch with a compare-and-set on ROOT/epoch and remembers the
// version it set; every commit is one multi-op {check ROOT/epoch at that version, create
// the batch}, so once a newer leader has taken the epoch a deposed leader's write fails
// whole (ZBADVERSION) and its journal breaks: it must stop.
//
// A standby follows the journal: catch_up() reads the batches it has not read yet, in
// sequence order, and keeps their decoded records; replay() (after promotion) reads the
// rest and hands every record to `apply`, exactly as the file journal's replay does.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "real/journal.h"
#include "real/zk.h"

namespace fulcrum::real {

inline constexpr std::size_t kZkMaxBatchBytes = 512u << 10;
// A single record must fit one znode (ZooKeeper's default jute.maxbuffer is 1 MB).
inline constexpr std::size_t kZkMaxRecordBytes = 1000u << 10;

// Creates ROOT, ROOT/election, ROOT/journal and ROOT/epoch ("0") where missing.
Expected<bool> zk_prepare_root(ZkClient& zk, const std::string& root);

struct ZkEpoch {
  std::uint64_t epoch = 0;
  std::int32_t version = 0;  // ROOT/epoch's version after the bump: the fence
};
// Takes the next epoch (compare-and-set, retried on a race).
Expected<ZkEpoch> zk_take_epoch(ZkClient& zk, const std::string& root);

class ZkJournal : public JournalStore {
 public:
  ZkJournal(ZkClient& zk, std::string root) : zk_(zk), root_(std::move(root)) {}

  // Follower: reads the batches after the last one read; `watch` leaves a watch on
  // ROOT/journal's children (the event says there is more). Returns the records added.
  Expected<std::uint64_t> catch_up(bool watch);
  std::uint64_t followed_records() const { return records_.size(); }
  std::uint64_t batches_read() const { return batches_read_; }

  // Leader: writes are fenced by this version of ROOT/epoch (see zk_take_epoch).
  void set_fence(std::int32_t epoch_version) { fence_ = epoch_version; fenced_ = true; }

  Expected<JournalReplayStats> replay(const std::function<void(const JournalRecord&)>& apply) override;
  void append(const JournalRecord& record) override;
  Expected<bool> commit() override;

 private:
  ZkClient& zk_;
  std::string root_;
  std::string last_batch_;             // name of the last batch read ("" none)
  std::uint64_t batches_read_ = 0;
  std::vector<JournalRecord> records_;  // followed, not yet replayed
  bool fenced_ = false;
  std::int32_t fence_ = -1;
  std::string pending_;                // framed records appended since the last commit
  std::vector<std::size_t> ends_;      // where each pending record ends in pending_
  std::size_t oversized_ = 0;
  std::string broken_;
};

}  // namespace fulcrum::real
