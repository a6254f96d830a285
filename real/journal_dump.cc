#include "real/journal_dump.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string_view>
#include <type_traits>

#include "real/journal.h"
#include "real/zk.h"
#include "real/zk_journal.h"

namespace fulcrum::real {
namespace {

using Json = nlohmann::ordered_json;

// ---- each record type's name ----

std::string type_name(const JobAccepted&) { return "JobAccepted"; }
std::string type_name(const TaskFinished&) { return "TaskFinished"; }
std::string type_name(const TaskFailed&) { return "TaskFailed"; }
std::string type_name(const JobCancelled&) { return "JobCancelled"; }
std::string type_name(const JobPlanned&) { return "JobPlanned"; }

// ---- values of a field list as JSON ----

std::string kind_name(TaskKind kind) {
  switch (kind) {
    case TaskKind::kCommand: return "command";
    case TaskKind::kBurn: return "burn";
    case TaskKind::kSleep: return "sleep";
  }
  return std::to_string(static_cast<int>(kind));
}

// An enumeration by name where it has names, else by number.
Json enum_json(TaskKind kind) { return kind_name(kind); }
template <class E> Json enum_json(E e) { return static_cast<std::underlying_type_t<E>>(e); }

template <class T> constexpr bool kIsScalar = std::is_arithmetic_v<T> || std::is_same_v<T, std::string>;
template <class T> constexpr bool kIsMap = requires { typename T::mapped_type; };
template <class T> constexpr bool kIsList = !kIsScalar<T> && !kIsMap<T> && requires(const T& v) { v.begin(); };
// Anything else in a field list is a struct with a field list of its own.
template <class T> constexpr bool kIsStruct = !kIsScalar<T> && !kIsMap<T> && !kIsList<T> && !std::is_enum_v<T>;
template <class T> constexpr bool list_of_structs() {
  if constexpr (kIsList<T>) {
    return kIsStruct<typename T::value_type>;
  } else {
    return false;
  }
}

template <class T> Json to_json(const T& v);

// A field-list visitor (core/job_spec.h) that fills a JSON object, in list order.
class JsonFields {
 public:
  explicit JsonFields(Json& out) : out_(out) {}
  template <class T> void field(std::string_view name, const T& v) { out_[std::string(name)] = to_json(v); }
  template <class E> void enumeration(std::string_view name, const E& e, E /*max*/) {
    out_[std::string(name)] = enum_json(e);
  }

 private:
  Json& out_;
};

template <class T> Json to_json(const T& v) {
  if constexpr (kIsScalar<T>) {
    return v;
  } else if constexpr (std::is_enum_v<T>) {
    return enum_json(v);
  } else if constexpr (kIsMap<T>) {
    if constexpr (std::is_same_v<typename T::key_type, std::string>) {
      Json j = Json::object();
      for (const auto& [key, value] : v) j[key] = to_json(value);
      return j;
    } else {
      Json j = Json::array();
      for (const auto& [key, value] : v) j.push_back(Json::array({to_json(key), to_json(value)}));
      return j;
    }
  } else if constexpr (kIsList<T>) {
    Json j = Json::array();
    for (const auto& item : v) j.push_back(to_json(item));
    return j;
  } else {
    Json j = Json::object();
    JsonFields visitor(j);
    fields(visitor, const_cast<T&>(v));  // field lists take a mutable struct; nothing is written
    return j;
  }
}

std::string json_text(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

// ---- text ----

// `{name=value ...}` of the fields of `v` that differ from a default T, `first` (a field
// shown always, unquoted) leading.
template <class T> std::string compact_text(const T& v, std::string_view first = {}) {
  static const Json defaults = to_json(T{});
  const Json j = to_json(v);
  std::string s = "{";
  if (!first.empty() && j.contains(first)) {
    const Json& f = j[std::string(first)];
    s += std::string(first) + "=" + (f.is_string() ? f.get<std::string>() : json_text(f));
  }
  for (const auto& [name, value] : j.items()) {
    if (name == first || (defaults.contains(name) && defaults[name] == value)) continue;
    s += (s.size() > 1 ? " " : "") + name + "=" + json_text(value);
  }
  return s + "}";
}

// How one task of a JobAccepted reads in the text dump, e.g.
// {kind=command command="make all" timeout=60 parents=[0]}: its kind, then each field
// that differs from a default task (a new field appears once a task sets it).
std::string task_text(const TaskSpec& task) { return compact_text(task, "kind"); }

template <class T> std::string item_text(const T& v) {
  if constexpr (std::is_same_v<T, TaskSpec>) {
    return task_text(v);
  } else if constexpr (kIsStruct<T>) {
    return compact_text(v);
  } else {
    return json_text(to_json(v));
  }
}

// A field-list visitor that appends ` name=value` per field; a nested struct's fields
// as ` outer.name=value`, a list of structs as [item item ...].
class TextFields {
 public:
  TextFields(std::string& out, std::string prefix) : out_(out), prefix_(std::move(prefix)) {}
  template <class T> void field(std::string_view name, const T& v) {
    const std::string key = prefix_ + std::string(name);
    if constexpr (kIsStruct<T>) {
      TextFields inner(out_, key + ".");
      fields(inner, const_cast<T&>(v));
    } else if constexpr (list_of_structs<T>()) {
      out_ += " " + key + "=[";
      for (std::size_t i = 0; i < v.size(); ++i) out_ += (i ? " " : "") + item_text(v[i]);
      out_ += "]";
    } else {
      out_ += " " + key + "=" + json_text(to_json(v));
    }
  }
  template <class E> void enumeration(std::string_view name, const E& e, E /*max*/) {
    const Json j = enum_json(e);
    out_ += " " + prefix_ + std::string(name) + "=" + (j.is_string() ? j.get<std::string>() : json_text(j));
  }

 private:
  std::string& out_;
  std::string prefix_;
};

std::string record_text(const JournalRecord& record) {
  return std::visit(
      [](const auto& r) {
        std::string line = type_name(r);
        TextFields visitor(line, "");
        fields(visitor, const_cast<std::remove_cvref_t<decltype(r)>&>(r));
        return line;
      },
      record);
}

// ---- reading a file journal ----

constexpr char kMagic[] = "FULCRUMJ";
constexpr std::size_t kHeaderBytes = 12;  // magic, u32 file version
constexpr std::size_t kFrameBytes = 8;    // u32 length, u32 crc32
constexpr std::uint32_t kFileVersion = 1;

std::uint32_t get_u32(const char* p) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= std::uint32_t{static_cast<unsigned char>(p[i])} << (8 * i);
  return v;
}

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

}  // namespace

std::string record_type(const JournalRecord& record) {
  return std::visit([](const auto& r) { return type_name(r); }, record);
}

Json record_json(const JournalRecord& record) {
  return std::visit(
      [](const auto& r) {
        Json j = Json::object();
        j["type"] = type_name(r);
        JsonFields visitor(j);
        fields(visitor, const_cast<std::remove_cvref_t<decltype(r)>&>(r));
        return j;
      },
      record);
}

std::string format_record(const JournalRecord& record, DumpFormat format) {
  return format == DumpFormat::kJson ? json_text(record_json(record)) : record_text(record);
}

DumpResult dump_file_journal(const std::string& path, DumpFormat format, std::ostream& out) {
  namespace fs = std::filesystem;
  DumpResult result;
  auto fail = [&](std::string why, bool unreadable) {
    result.error = std::move(why);
    result.unreadable = unreadable;
    out.flush();
    return result;
  };
  std::error_code ec;
  const std::string file = fs::is_directory(path, ec) ? (fs::path(path) / "journal.log").string() : path;
  std::unique_ptr<std::FILE, FileCloser> f(std::fopen(file.c_str(), "rb"));
  if (!f) return fail(file + ": cannot open: " + std::strerror(errno), true);

  char header[kHeaderBytes];
  const std::size_t got = std::fread(header, 1, kHeaderBytes, f.get());
  if (std::ferror(f.get())) return fail(file + ": read: " + std::strerror(errno), true);
  const std::string_view head(header, got);
  if (got < kHeaderBytes) {
    // What Journal::open takes for a new journal: nothing was ever committed to it.
    std::string expected(kMagic, 8);
    expected.append("\x01\0\0\0", 4);
    if (std::string_view(expected).starts_with(head)) return result;
    return fail(file + ": not a fulcrum journal", true);
  }
  if (!head.starts_with(std::string_view(kMagic, 8))) return fail(file + ": not a fulcrum journal", true);
  if (const std::uint32_t version = get_u32(header + 8); version != kFileVersion) {
    return fail(file + ": journal file version " + std::to_string(version) + " is not supported (this build reads version " +
                    std::to_string(kFileVersion) + ")",
                true);
  }

  std::uint64_t offset = kHeaderBytes;
  std::string framed;
  for (;;) {
    framed.resize(kFrameBytes);
    const std::size_t frame = std::fread(framed.data(), 1, kFrameBytes, f.get());
    if (std::ferror(f.get())) return fail(file + ": read at offset " + std::to_string(offset) + ": " + std::strerror(errno), false);
    if (frame == 0) break;  // the end
    const std::string where = file + ": offset " + std::to_string(offset);
    if (frame < kFrameBytes) {
      return fail(where + ": a torn record: " + std::to_string(frame) + " of the 8 bytes of its length and checksum", false);
    }
    const std::uint32_t length = get_u32(framed.data());
    const std::uint32_t crc = get_u32(framed.data() + 4);
    if (length < 2 || length > kMaxRecordBytes) {
      return fail(where + ": bad record length " + std::to_string(length) + " (a torn or garbled record)", false);
    }
    framed.resize(kFrameBytes + length);
    const std::size_t body = std::fread(framed.data() + kFrameBytes, 1, length, f.get());
    if (std::ferror(f.get())) return fail(where + ": read: " + std::strerror(errno), false);
    if (body < length) {
      return fail(where + ": a torn record: " + std::to_string(body) + " of its " + std::to_string(length) +
                      " bytes are in the file",
                  false);
    }
    if (crc32(std::string_view(framed).substr(kFrameBytes)) != crc) {
      return fail(where + ": bad record checksum (a torn or garbled record)", false);
    }
    // One intact frame: decode_records decodes it, or says why this build cannot.
    auto decoded = decode_records(framed, where, [&](const JournalRecord& record) {
      out << format_record(record, format) << '\n';
      ++result.records;
    });
    if (!decoded) return fail(decoded.error(), false);
    offset += kFrameBytes + length;
  }
  out.flush();
  return result;
}

DumpResult dump_zk_journal(const std::string& hosts, const std::string& root, DumpFormat format, std::ostream& out,
                           double connect_timeout) {
  DumpResult result;
  auto fail = [&](std::string why, bool unreadable) {
    result.error = std::move(why);
    result.unreadable = unreadable;
    out.flush();
    return result;
  };
  if (auto ok = check_zk_root(root); !ok) return fail(ok.error(), true);
  auto zk = ZkClient::connect(hosts, 10, connect_timeout);
  if (!zk) return fail(zk.error(), true);
  auto there = (*zk)->exists(root + "/journal");
  if (!there) return fail(there.error(), true);
  if (!*there) return fail("ZooKeeper " + root + "/journal: no such znode: no fulcrum journal under " + root, true);
  ZkJournal journal(**zk, root, /*snapshot_every=*/0);
  auto replayed = journal.replay([&](const JournalRecord& record) {
    out << format_record(record, format) << '\n';
    ++result.records;
  });
  if (!replayed) return fail(replayed.error(), false);
  out.flush();
  return result;
}

}  // namespace fulcrum::real
