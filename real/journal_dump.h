// `fulcrum journal dump`: the scheduler's journal printed for people and scripts, read from
// a file journal (real/journal.h) or from ZooKeeper (real/zk_journal.h) without changing it.
//
// Formats, one line per record, in journal order:
//  - text:  the record's kind, then `name=value` for each of its fields; a nested struct's
//           fields as `outer.name=value`; strings and lists as JSON ("…", [1,2]); a job's
//           tasks compactly, each as {kind=… and the fields that differ from a default
//           task} (task_text in journal_dump.cc);
//  - JSON Lines (--json): one object per record, "type" (JobAccepted, TaskFinished,
//           TaskFailed, JobCancelled) then every field, nested structs as objects, a
//           task's kind as its name (command, burn, sleep). Bytes that are not UTF-8 (a
//           task's output may hold any) are printed as U+FFFD; a NaN or infinite number
//           as null.
// Both walk each record's field list (`fields(v, r)` in core/durable.h and
// core/job_spec.h), so a field added to a record or a task is printed with no change here.
//
// Reading a file journal takes no lock and writes nothing, so it may run beside the
// scheduler that owns the journal (a record being written may then read as a torn tail).
// Unlike replay, which cuts a torn or corrupt tail off, the dump stops at the first record
// that is not intact and reports it: the file, the record's byte offset and why.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>

#include <nlohmann/json.hpp>

#include "core/durable.h"

namespace fulcrum::real {

enum class DumpFormat { kText, kJson };

// The record's kind: "JobAccepted", "TaskFinished", "TaskFailed" or "JobCancelled".
std::string record_type(const JournalRecord& record);
// {"type": record_type, then every field in field-list order}.
nlohmann::ordered_json record_json(const JournalRecord& record);
// The text or JSON line of a record, without its newline.
std::string format_record(const JournalRecord& record, DumpFormat format);

struct DumpResult {
  std::uint64_t records = 0;  // records printed
  // "" when the whole journal was printed. Otherwise why the dump stopped, naming the
  // file and byte offset of the damaged record (or the znode); the records before it
  // were printed.
  std::string error;
  // With an error: no journal could be read at all (no such file or folder, not a
  // fulcrum journal, an unsupported file version, ZooKeeper unreachable or no journal
  // under the root), as opposed to a journal damaged after `records` records.
  bool unreadable = false;
};

// PATH is a journal folder (its journal.log is read) or the journal.log file itself.
// A file shorter than the header whose bytes start it (a journal created but never
// written to) holds no records.
DumpResult dump_file_journal(const std::string& path, DumpFormat format, std::ostream& out);

// The journal under ROOT in ZooKeeper (HOSTS: "host:port[,...]"): the latest snapshot's
// records, then the batches after it, as a new leader replays them. Read-only.
DumpResult dump_zk_journal(const std::string& hosts, const std::string& root, DumpFormat format,
                           std::ostream& out, double connect_timeout = 15);

}  // namespace fulcrum::real
