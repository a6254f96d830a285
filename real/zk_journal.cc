#include "real/zk_journal.h"

#include <zookeeper/zookeeper.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace fulcrum::real {

Expected<bool> zk_prepare_root(ZkClient& zk, const std::string& root) {
  if (auto ok = check_zk_root(root); !ok) return ok;
  for (const char* child : {"/election", "/journal", "/snapshots", "/snapshot"}) {
    if (auto ok = zk.ensure(root + child); !ok) return ok;
  }
  return zk.ensure(root + "/epoch", "0");
}

Expected<ZkEpoch> zk_take_epoch(ZkClient& zk, const std::string& root) {
  for (;;) {
    auto node = zk.get(root + "/epoch");
    if (!node) return Error{node.error()};
    const std::uint64_t next = std::strtoull(node->data.c_str(), nullptr, 10) + 1;
    int rc = 0;
    auto version = zk.set(root + "/epoch", std::to_string(next), node->version, &rc);
    if (version) return ZkEpoch{next, *version};
    if (rc != ZBADVERSION) return Error{version.error()};
    // Another replica bumped it between our read and write: read again.
  }
}

namespace {

constexpr std::size_t kFrameBytes = 8;  // u32 length, u32 crc32 (real/journal.h)

std::uint32_t frame_length(const std::string& framed, std::size_t off) {
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(framed[off + i]);
  return v;
}

// "b-0000000042" -> 42; -1 for a name that is not a batch.
std::int64_t batch_seq(const std::string& name) {
  if (name.size() < 3 || name.compare(0, 2, "b-") != 0) return -1;
  if (name.find_first_not_of("0123456789", 2) != std::string::npos) return -1;
  return std::strtoll(name.c_str() + 2, nullptr, 10);
}

std::string padded(std::int64_t n, int width) {
  std::string digits = std::to_string(n);
  return std::string(digits.size() < static_cast<std::size_t>(width) ? width - digits.size() : 0, '0') + digits;
}

}  // namespace

Expected<ZkJournal::SnapshotPointer> ZkJournal::read_pointer() {
  int rc = 0;
  auto node = zk_.get(root_ + "/snapshot", false, &rc);
  if (!node && rc == zk_no_node()) return SnapshotPointer{};
  if (!node) return Error{node.error()};
  if (node->data.empty()) return SnapshotPointer{};
  SnapshotPointer p;
  unsigned long long seq = 0, chunks = 0;
  char name[64] = {};
  char extra = 0;
  if (std::sscanf(node->data.c_str(), "%llu %llu %63s %c", &seq, &chunks, name, &extra) != 3 || chunks == 0 ||
      chunks > 1000000 || name[0] == '\0' || std::string_view(name).find_first_of("/.") != std::string_view::npos) {
    return Error{"ZooKeeper " + root_ + "/snapshot: expected \"SEQ CHUNKS NAME\", got \"" + node->data + "\""};
  }
  p.seq = static_cast<std::int64_t>(seq);
  p.chunks = static_cast<std::uint32_t>(chunks);
  p.name = name;
  return p;
}

Expected<bool> ZkJournal::catch_up_once(bool watch, std::uint64_t& added) {
  auto before = read_pointer();
  if (!before) return Error{before.error()};
  if (before->seq > position_) {
    // The snapshot covers more than we have: it replaces what we have.
    const std::string dir = root_ + "/snapshots/" + before->name;
    std::string history;
    std::uint64_t records = 0;
    for (std::uint32_t i = 0; i < before->chunks; ++i) {
      const std::string path = dir + "/c-" + padded(i, 6);
      int rc = 0;
      auto chunk = zk_.get(path, false, &rc);
      if (!chunk && rc == zk_no_node()) return false;  // replaced by a newer one meanwhile
      if (!chunk) return Error{chunk.error()};
      auto n = decode_records(chunk->data, "ZooKeeper " + path, [](const JournalRecord&) {});
      if (!n) return Error{n.error()};
      records += *n;
      history += chunk->data;
    }
    added += records > records_ ? records - records_ : 0;
    history_ = std::move(history);
    snapshot_bytes_ = history_.size();
    records_ = records;
    position_ = before->seq;
    since_snapshot_ = 0;
    ++snapshots_read_;
  }
  // What we have now is a whole prefix of the journal. The batches read below count only
  // if no compaction ran meanwhile: one may have deleted some of them before we listed or
  // read them, and keeping the others would leave a hole. So the pass is undone unless
  // the pointer is where it was.
  const std::size_t mark_bytes = history_.size();
  const std::uint64_t mark_records = records_, mark_since = since_snapshot_, mark_batches = batches_read_;
  const std::uint64_t mark_added = added;
  const std::int64_t mark_position = position_;
  auto undo = [&] {
    history_.resize(mark_bytes);
    records_ = mark_records;
    since_snapshot_ = mark_since;
    batches_read_ = mark_batches;
    added = mark_added;
    position_ = mark_position;
  };
  if (before_listing_) before_listing_();
  auto names = zk_.children(root_ + "/journal", watch);
  if (!names) return Error{names.error()};
  // Sequence numbers are zero-padded to 10 digits: name order is write order.
  std::sort(names->begin(), names->end());
  for (const std::string& name : *names) {
    const std::int64_t seq = batch_seq(name);
    if (seq < 0) {
      undo();
      return Error{"ZooKeeper " + root_ + "/journal/" + name + ": not a batch name (b- and 10 digits)"};
    }
    if (seq <= position_) continue;
    const std::string path = root_ + "/journal/" + name;
    int rc = 0;
    auto batch = zk_.get(path, false, &rc);
    if (!batch) {
      undo();
      if (rc == zk_no_node()) return false;  // compacted away meanwhile
      return Error{batch.error()};
    }
    auto n = decode_records(batch->data, "ZooKeeper " + path, [](const JournalRecord&) {});
    if (!n) {
      undo();
      return Error{n.error()};
    }
    history_ += batch->data;
    records_ += *n;
    added += *n;
    position_ = seq;
    ++since_snapshot_;
    ++batches_read_;
  }
  auto after = read_pointer();
  if (!after || after->seq != before->seq || after->name != before->name) {
    undo();
    if (!after) return Error{after.error()};
    return false;
  }
  return true;
}

Expected<std::uint64_t> ZkJournal::catch_up(bool watch) {
  std::uint64_t added = 0;
  for (int pass = 0; pass < 10; ++pass) {
    auto done = catch_up_once(watch, added);
    if (!done) return Error{done.error()};
    if (*done) return added;
  }
  return Error{"ZooKeeper " + root_ + "/journal: compacted 10 times while being read"};
}

Expected<JournalReplayStats> ZkJournal::replay(const std::function<void(const JournalRecord&)>& apply) {
  if (auto n = catch_up(false); !n) return Error{n.error()};
  JournalReplayStats stats;
  auto n = decode_records(history_, "ZooKeeper " + root_ + "/journal", apply);
  if (!n) return Error{n.error()};
  stats.records = *n;
  if (snapshot_every_ == 0) {
    history_.clear();
    history_.shrink_to_fit();
  }
  return stats;
}

Expected<bool> ZkJournal::snapshot(int& rc) {
  // Named by position and by this leader's fence, so that it cannot collide with what an
  // earlier leader left half-written at the same position.
  const std::string name = padded(position_, 10) + "-" + std::to_string(fence_);
  const std::string dir = root_ + "/snapshots/" + name;
  const std::string fence_path = root_ + "/epoch";
  using Kind = ZkClient::Op::Kind;
  // The chunks: whole records, each chunk below the batch limit (a record alone may pass it).
  std::vector<ZkClient::Op> ops{{dir, "", 0, Kind::kCreate}};
  std::uint32_t chunks = 0;
  for (std::size_t begin = 0; begin < history_.size() || chunks == 0;) {
    std::size_t end = begin;
    while (end < history_.size()) {
      const std::size_t next = end + kFrameBytes + frame_length(history_, end);
      if (end != begin && next - begin > kZkMaxBatchBytes) break;
      end = next;
    }
    ops.push_back({dir + "/c-" + padded(chunks++, 6), history_.substr(begin, end - begin), 0, Kind::kCreate});
    if (auto ok = zk_.fenced_multi(fence_path, fence_, ops, &rc); !ok) return Error{ok.error()};
    ops.clear();
    begin = end;
  }
  if (auto ok = zk_.fenced_multi(
          fence_path, fence_,
          {{root_ + "/snapshot", std::to_string(position_) + " " + std::to_string(chunks) + " " + name, 0, Kind::kSet}},
          &rc);
      !ok) {
    return Error{ok.error()};
  }
  since_snapshot_ = 0;
  snapshot_bytes_ = history_.size();
  ++snapshots_written_;
  compact_due_ = true;
  return compact(rc);
}

Expected<bool> ZkJournal::compact(int& rc) {
  using Kind = ZkClient::Op::Kind;
  const std::string fence_path = root_ + "/epoch";
  auto pointer = read_pointer();
  if (!pointer) return Error{pointer.error()};
  // The batches the snapshot covers, and every other snapshot folder (older ones, and
  // leftovers of a leader that died while writing one). A few hundred deletes per multi
  // keep each request small.
  std::vector<ZkClient::Op> deletes;
  auto flush = [&]() -> Expected<bool> {
    if (deletes.empty()) return true;
    auto ok = zk_.fenced_multi(fence_path, fence_, deletes, &rc);
    deletes.clear();
    if (!ok) return Error{ok.error()};
    return true;
  };
  // No snapshot yet: no batch is covered (and the listing could be long).
  auto names = pointer->seq < 0 ? Expected<std::vector<std::string>>(std::vector<std::string>{})
                                : zk_.children(root_ + "/journal", false, &rc);
  if (!names) return Error{names.error()};
  for (const std::string& batch : *names) {
    const std::int64_t seq = batch_seq(batch);
    if (seq < 0 || seq > pointer->seq) continue;
    deletes.push_back({root_ + "/journal/" + batch, "", 0, Kind::kRemove});
    if (deletes.size() >= 200) {
      if (auto ok = flush(); !ok) return ok;
    }
  }
  auto snapshots = zk_.children(root_ + "/snapshots", false, &rc);
  if (!snapshots) return Error{snapshots.error()};
  for (const std::string& leftover : *snapshots) {
    if (leftover == pointer->name) continue;
    const std::string path = root_ + "/snapshots/" + leftover;
    auto children = zk_.children(path, false, &rc);
    if (!children) return Error{children.error()};
    for (const std::string& c : *children) deletes.push_back({path + "/" + c, "", 0, Kind::kRemove});
    deletes.push_back({path, "", 0, Kind::kRemove});
    if (auto ok = flush(); !ok) return ok;
  }
  if (auto ok = flush(); !ok) return ok;
  compact_due_ = false;
  return true;
}

void ZkJournal::append(const JournalRecord& record) {
  const std::size_t before = pending_.size();
  const std::size_t length = encode_record(record, pending_);
  if (length > kZkMaxRecordBytes) {
    oversized_ = std::max(oversized_, length);
    pending_.resize(before);
    return;
  }
  ends_.push_back(pending_.size());
}

Expected<bool> ZkJournal::commit() {
  if (!broken_.empty()) return Error{"ZooKeeper journal unusable after a failed commit (" + broken_ + ")"};
  if (!fenced_) return Error{"ZooKeeper journal: commit() before taking an epoch"};
  if (oversized_ != 0) {
    const std::size_t length = oversized_;
    pending_.clear();
    ends_.clear();
    oversized_ = 0;
    return Error{"a journal record of " + std::to_string(length) + " bytes is above ZooKeeper's limit of " +
                 std::to_string(kZkMaxRecordBytes)};
  }
  // Batches of whole records below kZkMaxBatchBytes (one record may exceed it alone).
  bool wrote = false;
  std::size_t begin = 0;
  while (begin < pending_.size()) {
    std::size_t end = begin;
    for (std::size_t e : ends_) {
      if (e <= begin) continue;
      if (end != begin && e - begin > kZkMaxBatchBytes) break;
      end = e;
    }
    std::string data = pending_.substr(begin, end - begin);
    const std::vector<ZkClient::Op> ops{{root_ + "/journal/b-", data, ZOO_PERSISTENT_SEQUENTIAL}};
    auto made = zk_.fenced_multi(root_ + "/epoch", fence_, ops);
    if (!made) {
      broken_ = made.error();
      pending_.clear();
      ends_.clear();
      return Error{made.error()};
    }
    const std::string& path = made->front();
    position_ = batch_seq(path.substr(path.rfind('/') + 1));
    if (position_ < 0) {
      // ZooKeeper's sequence counter of ROOT/journal wrapped (after 2^31 creates and
      // deletes): names would no longer sort in write order.
      broken_ = "ZooKeeper " + path + ": the sequence counter wrapped; start a new --zk-root";
      pending_.clear();
      ends_.clear();
      return Error{broken_};
    }
    records_ += static_cast<std::uint64_t>(std::count_if(ends_.begin(), ends_.end(), [&](std::size_t e) {
      return e > begin && e <= end;
    }));
    if (snapshot_every_ > 0) history_ += data;  // else nobody reads it again
    ++since_snapshot_;
    wrote = true;
    begin = end;
  }
  pending_.clear();
  ends_.clear();
  // A snapshot rewrites the whole history, so one every N batches would cost time
  // quadratic in it: the history must also have grown by half since the last one, which
  // bounds the snapshot bytes ever written to 3 x the history. Too many batches in a row
  // would outgrow a child listing, so kZkMaxBatchesBetweenSnapshots forces one anyway.
  const bool grown = (history_.size() - snapshot_bytes_) * 2 >= snapshot_bytes_;
  const bool snapshot_due = wrote && snapshot_every_ > 0 && since_snapshot_ >= snapshot_every_ &&
                            (grown || since_snapshot_ >= kZkMaxBatchesBetweenSnapshots);
  if (snapshot_due || compact_due_) {
    // A snapshot compacts after it; without one, a compaction left undone (this leader's
    // failed, or an earlier leader's cut short by its death or deposition) is finished.
    int rc = 0;
    if (auto ok = snapshot_due ? snapshot(rc) : compact(rc); !ok) {
      if (rc == zk_bad_version()) {
        // Deposed while snapshotting: the batch is in the journal, but this leader must
        // stop now rather than at its next commit.
        broken_ = ok.error();
        return Error{ok.error()};
      }
      // Not fatal: tried again at the next commit (the covered batches are skipped meanwhile).
      snapshot_error_ = ok.error();
    } else {
      snapshot_error_.clear();
    }
  }
  return true;
}

}  // namespace fulcrum::real
