// The columns of a run's tables: tasks.csv, workers.csv, jobs.csv (fulcrum's flavour) and
// events.csv (results/write.cc), and the Python module's column dicts (python/core.cc).
//
// A table's columns are its record's field list (core/records.h) walked in order: each
// field is the column of its name and value, unless RecordColumns below says otherwise.
// Its exceptions are the whole of what a table adds to its record, and they are shared by
// the CSV writer and Python, so the two cannot drift apart. A serialiser is an `emit(name,
// value)` callable that formats by type: integers, doubles, strings, bools, enumerations
// (TaskState, by to_string) and FreeText.
#pragma once

#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "core/records.h"

namespace fulcrum {

// A field written as free text: events.csv puts it in double quotes (without escaping);
// Python gets the text.
struct FreeText {
  std::string_view text;
};

// The columns a table makes of each field, one overload per record type. It must emit the
// same names for every row, whatever the values: a table's header is the names a default
// record emits (column_names).
struct RecordColumns {
  const std::vector<WorkerRecord>& workers;  // for tasks.csv's worker names
  const std::vector<JobRecord>& jobs;        // for tasks.csv's tenants

  // tasks.csv: the worker as its host name, "" when none; the job's tenant last.
  template <class T, class Emit> void operator()(const TaskRecord& t, std::string_view name, const T& value, Emit& emit) const {
    if (name == "worker") {
      emit(name, t.worker < workers.size() ? std::string_view(workers[t.worker].name) : std::string_view());
    } else {
      emit(name, value);
    }
    if (name == "preemptions") emit("tenant", t.job < jobs.size() ? std::string_view(jobs[t.job].tenant) : std::string_view());
  }
  // workers.csv: the host's name is the column `worker`; its capacity's `cores` (its
  // `slots`, as a number of cores like tasks.csv's request) comes before `memory`.
  template <class T, class Emit> void operator()(const WorkerRecord& w, std::string_view name, const T& value, Emit& emit) const {
    if (name == "memory") emit("cores", static_cast<double>(w.slots));
    emit(name == "name" ? "worker" : name, value);
  }
  // jobs.csv: the id is `job`; a computed `makespan` follows `end`; `processors` only in the
  // Batsim flavour (results/write.cc).
  template <class T, class Emit> void operator()(const JobRecord& j, std::string_view name, const T& value, Emit& emit) const {
    if (name == "processors") return;
    emit(name == "id" ? "job" : name, value);
    if (name == "end") emit("makespan", j.end >= 0 ? j.end - j.submit : -1.0);
  }
  // tenants.csv: its fields as they are.
  template <class T, class Emit> void operator()(const TenantRecord&, std::string_view name, const T& value, Emit& emit) const {
    emit(name, value);
  }
  // events.csv: the detail is free text.
  template <class T, class Emit> void operator()(const EventRecord& e, std::string_view name, const T& value, Emit& emit) const {
    if (name == "detail") {
      emit(name, FreeText{e.detail});
    } else {
      emit(name, value);
    }
  }

  // Calls emit(column, value) for each column of `row`, in order.
  template <class Record, class Emit> void walk(const Record& row, Emit&& emit) const;

  // The table's column names (its header).
  template <class Record> std::vector<std::string> column_names() const {
    std::vector<std::string> names;
    walk(Record{}, [&](std::string_view name, const auto&) { names.emplace_back(name); });
    return names;
  }
};

namespace detail {
// Hands each field of a record to RecordColumns (a local class cannot have the member
// templates a field-list visitor needs).
template <class Record, class Emit> struct ColumnVisitor {
  const RecordColumns& columns;
  const Record& row;
  Emit& emit;
  template <class T> void field(std::string_view name, const T& value) { columns(row, name, value, emit); }
  template <class E> void enumeration(std::string_view name, const E& value, E /*max*/) { columns(row, name, value, emit); }
};
}  // namespace detail

template <class Record, class Emit> void RecordColumns::walk(const Record& row, Emit&& emit) const {
  detail::ColumnVisitor<Record, std::remove_reference_t<Emit>> visitor{*this, row, emit};
  fields(visitor, const_cast<Record&>(row));  // the field lists take non-const; nothing is written
}

}  // namespace fulcrum
