#include "real/zk_journal.h"

#include <zookeeper/zookeeper.h>

#include <algorithm>

namespace fulcrum::real {

Expected<bool> zk_prepare_root(ZkClient& zk, const std::string& root) {
  if (auto ok = check_zk_root(root); !ok) return ok;
  for (const char* child : {"/election", "/journal"}) {
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

Expected<std::uint64_t> ZkJournal::catch_up(bool watch) {
  auto names = zk_.children(root_ + "/journal", watch);
  if (!names) return Error{names.error()};
  // Sequence numbers are zero-padded to 10 digits: name order is write order.
  std::sort(names->begin(), names->end());
  std::uint64_t added = 0;
  for (const std::string& name : *names) {
    if (!last_batch_.empty() && name <= last_batch_) continue;
    const std::string path = root_ + "/journal/" + name;
    auto batch = zk_.get(path);
    if (!batch) return Error{batch.error()};
    auto n = decode_records(batch->data, "ZooKeeper " + path, [&](const JournalRecord& r) { records_.push_back(r); });
    if (!n) return Error{n.error()};
    added += *n;
    last_batch_ = name;
    ++batches_read_;
  }
  return added;
}

Expected<JournalReplayStats> ZkJournal::replay(const std::function<void(const JournalRecord&)>& apply) {
  if (auto n = catch_up(false); !n) return Error{n.error()};
  JournalReplayStats stats;
  for (const JournalRecord& r : records_) {
    apply(r);
    ++stats.records;
  }
  records_.clear();
  records_.shrink_to_fit();
  return stats;
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
  std::size_t begin = 0;
  while (begin < pending_.size()) {
    std::size_t end = begin;
    for (std::size_t e : ends_) {
      if (e <= begin) continue;
      if (end != begin && e - begin > kZkMaxBatchBytes) break;
      end = e;
    }
    const std::vector<ZkClient::Op> ops{{root_ + "/journal/b-", pending_.substr(begin, end - begin), ZOO_PERSISTENT_SEQUENTIAL}};
    if (auto ok = zk_.fenced_multi(root_ + "/epoch", fence_, ops); !ok) {
      broken_ = ok.error();
      pending_.clear();
      ends_.clear();
      return Error{ok.error()};
    }
    begin = end;
  }
  pending_.clear();
  ends_.clear();
  return true;
}

}  // namespace fulcrum::real
