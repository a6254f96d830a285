// The audit trail: who asked the scheduler to change what, and whether it was allowed.
//
// Every state-changing request — submit, cancel, shutdown, a worker's register — accepted or
// refused, is one line of JSON in JOURNAL/audit.log, beside the journal (not in it: the
// journal's records are the core's events, replayed into the scheduler; the audit trail is
// for people, and adding to it never changes what a replay rebuilds, so every journal
// written before it reads as before). `fulcrum journal dump DIR --audit` prints it.
//
// Contract: append() only buffers; commit() writes what was appended with one write and
// one fdatasync. The scheduler commits it in the same turn of its event loop as the
// journal's group commit, before any reply to the requests it records is sent, so an
// acknowledged request is always in the trail. A line torn by a crash is the last one;
// the reader reports and skips it.
//
// A line: {"time": unix seconds, "who": identity ("" without TLS), "role", "tenant",
// "peer": "HOST:PORT", "action": submit|cancel|shutdown|register, "target": "job 3" /
// "task 7" / a worker's name, "accepted": true|false, "reason": why it was refused}.
#pragma once

#include <cstdint>
#include <memory>
#include <ostream>
#include <string>

#include "core/expected.h"

namespace fulcrum::real {

struct AuditEntry {
  double time = 0;
  std::string who, role, tenant, peer, action, target;
  bool accepted = false;
  std::string reason;
};

std::string audit_json(const AuditEntry& e);

class AuditLog {
 public:
  // Opens (creating) DIR/audit.log for appending.
  static Expected<std::unique_ptr<AuditLog>> open(const std::string& dir);
  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;
  void append(const AuditEntry& e);
  // Writes and syncs what was appended; true when nothing was pending.
  Expected<bool> commit();
  std::uint64_t entries() const { return entries_; }

 private:
  AuditLog(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  int fd_;
  std::string path_;
  std::string pending_;
  std::uint64_t entries_ = 0;
};

// Prints DIR/audit.log (or the file itself), one line per entry: text (`Audit time=...
// who="alice" ...`) or, with `json`, the stored line. Returns the entries printed, or an
// Error naming the file when it cannot be read; a damaged line is reported on `err` with
// its line number and skipped.
Expected<std::uint64_t> dump_audit(const std::string& path, bool json, std::ostream& out, std::ostream& err);

}  // namespace fulcrum::real
