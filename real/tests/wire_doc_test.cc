// The wire protocol reference, docs/real/wire-protocol.md, against real/wire.h:
//  - the message table (header "| type | message | direction | fields |") has one row per
//    alternative of Message, numbered by its index and named by message_name();
//  - each row's fields (`name: type`, comma-separated) add up to the encoded size of that
//    message with default fields, so a field added, removed or retyped without the page
//    fails; the struct tables (### TaskDesc, TaskOutcome, TaskRecord, WorkerSpec, WorkerRecord) are
//    checked the same way;
//  - the version history table ends at kWireVersion, one row per version.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include "real/wire.h"

namespace fulcrum::real {
namespace {

constexpr const char* kPage = FULCRUM_SOURCE_DIR "/docs/real/wire-protocol.md";

std::string trim(const std::string& s) {
  const auto first = s.find_first_not_of(" \t");
  if (first == std::string::npos) return "";
  return s.substr(first, s.find_last_not_of(" \t") - first + 1);
}

std::string unquote(std::string s) {
  s = trim(s);
  if (s.size() >= 2 && s.front() == '`' && s.back() == '`') s = s.substr(1, s.size() - 2);
  return s;
}

struct Row {
  int line = 0;
  std::vector<std::string> cells;
};

// A table: the heading it is under, its header cells and its rows.
struct Table {
  std::string heading;
  std::vector<std::string> header;
  std::vector<Row> rows;
};

std::vector<std::string> cells_of(const std::string& line) {
  std::vector<std::string> cells;
  std::size_t start = 1;
  for (std::size_t bar; (bar = line.find('|', start)) != std::string::npos; start = bar + 1) {
    cells.push_back(trim(line.substr(start, bar - start)));
  }
  return cells;
}

std::vector<Table> page_tables() {
  std::ifstream in(kPage);
  EXPECT_TRUE(in) << "cannot read " << kPage;
  std::vector<Table> tables;
  std::string heading;
  bool in_code = false, in_table = false;
  int number = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    if (trim(line).rfind("```", 0) == 0) in_code = !in_code;
    if (in_code) continue;
    if (line.rfind("#", 0) == 0) {
      heading = trim(line.substr(line.find_first_not_of('#')));
      in_table = false;
      continue;
    }
    if (line.rfind("|", 0) != 0) {
      in_table = false;
      continue;
    }
    if (!in_table) {
      tables.push_back({heading, cells_of(line), {}});
      in_table = true;
      continue;
    }
    if (line.find("---") != std::string::npos && tables.back().rows.empty()) continue;  // separator
    tables.back().rows.push_back({number, cells_of(line)});
  }
  return tables;
}

const Table* find_table(const std::vector<Table>& tables, const std::string& first_header,
                        const std::string& heading = "") {
  for (const Table& t : tables) {
    if (!t.header.empty() && t.header[0] == first_header && (heading.empty() || t.heading == heading)) return &t;
  }
  return nullptr;
}

// Every alternative of Message, default-constructed, in type order.
template <std::size_t... I>
std::vector<Message> defaults(std::index_sequence<I...>) {
  return {Message(std::in_place_index<I>)...};
}
std::vector<Message> all_messages() { return defaults(std::make_index_sequence<std::variant_size_v<Message>>()); }

std::size_t encoded_size(const Message& m) {
  std::string frame;
  encode_frame(m, frame);
  return frame.size();
}

// The encoded size of a field of `type` holding its default value (empty strings and
// lists); struct types add up the fields of their own table.
class Sizes {
 public:
  explicit Sizes(const std::vector<Table>& tables) {
    for (const char* name : {"JobSpec", "TaskSpec", "Resources", "TaskOutcome", "TaskRecord", "WorkerSpec",
                             "WorkerRecord"}) {
      const Table* t = find_table(tables, "field", name);
      if (!t) {
        ADD_FAILURE() << kPage << ": no field table under a heading '" << name << "'";
        continue;
      }
      structs_[name] = *t;
    }
  }

  // Fails (naming the line) and returns 0 for a type it does not know.
  std::size_t of(const std::string& type, int line) const {
    static const std::map<std::string, std::size_t> kScalars{{"u8", 1}, {"bool", 1}, {"u32", 4}, {"i32", 4},
                                                             {"u64", 8}, {"f64", 8}, {"string", 4}};
    if (auto s = kScalars.find(type); s != kScalars.end()) return s->second;
    if ((type.rfind("list<", 0) == 0 || type.rfind("map<", 0) == 0) && type.back() == '>') return 4;  // empty
    if (auto s = structs_.find(type); s != structs_.end()) return struct_size(s->second);
    ADD_FAILURE() << kPage << ":" << line << ": unknown field type '" << type << "'";
    return 0;
  }

  std::size_t struct_size(const Table& t) const {
    std::size_t size = 0;
    for (const Row& r : t.rows) {
      if (r.cells.size() < 2) {
        ADD_FAILURE() << kPage << ":" << r.line << ": a field row needs a name and a type";
        continue;
      }
      size += of(unquote(r.cells[1]), r.line);
    }
    return size;
  }
  std::size_t struct_size(const std::string& name) const {
    auto s = structs_.find(name);
    return s == structs_.end() ? 0 : struct_size(s->second);
  }

 private:
  std::map<std::string, Table> structs_;
};

struct DocumentedMessage {
  int line = 0;
  std::string name;
  std::string fields;
};

std::map<std::size_t, DocumentedMessage> documented_messages(const std::vector<Table>& tables) {
  std::map<std::size_t, DocumentedMessage> out;
  const Table* t = find_table(tables, "type");
  if (!t) {
    ADD_FAILURE() << kPage << ": no message table (a table whose header starts with \"type\")";
    return out;
  }
  for (const Row& r : t->rows) {
    if (r.cells.size() < 4 || r.cells[0].empty() || r.cells[0].find_first_not_of("0123456789") != std::string::npos) {
      ADD_FAILURE() << kPage << ":" << r.line << ": a message row is | number | `Name` | direction | fields |";
      continue;
    }
    const std::size_t type = std::stoul(r.cells[0]);
    if (out.count(type)) ADD_FAILURE() << kPage << ":" << r.line << ": type " << type << " is listed twice";
    out[type] = {r.line, unquote(r.cells[1]), r.cells[3]};
  }
  return out;
}

TEST(WireDoc, MessageTableHasEveryTypeWithItsNumberAndName) {
  const auto tables = page_tables();
  const auto documented = documented_messages(tables);
  const auto messages = all_messages();
  std::map<std::string, std::size_t> by_name;
  for (const auto& [type, d] : documented) by_name[d.name] = type;
  for (std::size_t type = 0; type < messages.size(); ++type) {
    const std::string name(message_name(messages[type]));
    auto it = documented.find(type);
    if (it != documented.end() && it->second.name == name) continue;
    if (auto named = by_name.find(name); named != by_name.end()) {
      ADD_FAILURE() << kPage << ":" << documented.at(named->second).line << ": message " << name
                    << " is numbered wrongly: the page says " << named->second << ", the code " << type;
    } else {
      ADD_FAILURE() << kPage << ": message " << name << " (type " << type << ") is missing from the message table";
    }
  }
  for (const auto& [type, d] : documented) {
    if (type >= messages.size()) {
      ADD_FAILURE() << kPage << ":" << d.line << ": type " << type << " (" << d.name << ") does not exist in the code ("
                    << messages.size() << " types)";
    }
  }
}

TEST(WireDoc, FieldListsAddUpToTheEncoding) {
  const auto tables = page_tables();
  const Sizes sizes(tables);
  const auto documented = documented_messages(tables);
  const auto messages = all_messages();
  const std::regex field("`([A-Za-z_][A-Za-z0-9_]*): ([A-Za-z0-9_<>]+)`");
  for (std::size_t type = 0; type < messages.size(); ++type) {
    auto it = documented.find(type);
    if (it == documented.end()) continue;  // reported by the test above
    const DocumentedMessage& d = it->second;
    std::size_t payload = 2;  // version, type
    std::string listed;
    for (std::sregex_iterator m(d.fields.begin(), d.fields.end(), field), end; m != end; ++m) {
      payload += sizes.of((*m)[2].str(), d.line);
      listed += (listed.empty() ? "" : ", ") + (*m)[1].str() + ": " + (*m)[2].str();
    }
    EXPECT_EQ(4 + payload, encoded_size(messages[type]))
        << kPage << ":" << d.line << ": " << message_name(messages[type]) << "'s fields on the page (" << listed
        << ") do not add up to its encoding: a field is missing, extra or of another type";
  }
}

TEST(WireDoc, StructTablesAddUpToTheEncoding) {
  const auto tables = page_tables();
  const Sizes sizes(tables);
  auto grows = [](const Message& empty, const Message& one) { return encoded_size(one) - encoded_size(empty); };
  EXPECT_EQ(sizes.struct_size("JobSpec"), grows(ErrorReply{}, Submit{})) << kPage << ": JobSpec's fields";
  EXPECT_EQ(sizes.struct_size("TaskSpec"), grows(Submit{}, Submit{{{TaskSpec{}}}, ""})) << kPage << ": TaskSpec's fields";
  EXPECT_EQ(sizes.struct_size("TaskOutcome"), grows(TaskStarted{}, TaskDone{})) << kPage << ": TaskOutcome's fields";
  RecordsReply with_task, with_worker;
  with_task.tasks.emplace_back();
  with_worker.workers.emplace_back();
  EXPECT_EQ(sizes.struct_size("TaskRecord"), grows(RecordsReply{}, with_task)) << kPage << ": TaskRecord's fields";
  EXPECT_EQ(sizes.struct_size("WorkerRecord"), grows(RecordsReply{}, with_worker)) << kPage << ": WorkerRecord's fields";
}

// The names of a type's field list, in order (the list every serialiser walks).
struct FieldNames {
  std::vector<std::string> names;
  template <class T> void field(std::string_view name, T&) { names.emplace_back(name); }
  template <class E> void enumeration(std::string_view name, E&, E) { names.emplace_back(name); }
};
template <class T> std::vector<std::string> field_names() {
  T value{};
  FieldNames v;
  fields(v, value);
  return v.names;
}

TEST(WireDoc, StructTablesNameTheFieldListsInOrder) {
  const auto tables = page_tables();
  const std::map<std::string, std::vector<std::string>> lists{
      {"JobSpec", field_names<JobSpec>()},       {"TaskSpec", field_names<TaskSpec>()},
      {"Resources", field_names<Resources>()},
      {"TaskOutcome", field_names<TaskOutcome>()}, {"TaskRecord", field_names<TaskRecord>()},
      {"WorkerSpec", field_names<WorkerSpec>()}, {"WorkerRecord", field_names<WorkerRecord>()}};
  for (const auto& [name, list] : lists) {
    const Table* t = find_table(tables, "field", name);
    ASSERT_NE(t, nullptr) << kPage << ": no table for " << name;
    std::vector<std::string> documented;
    for (const Row& r : t->rows) documented.push_back(unquote(r.cells.at(0)));
    EXPECT_EQ(documented, list) << kPage << ": " << name << "'s table against its fields() in core/";
  }
}

TEST(WireDoc, VersionHistoryEndsAtTheCurrentVersion) {
  const auto tables = page_tables();
  const Table* t = find_table(tables, "version");
  ASSERT_NE(t, nullptr) << kPage << ": no version history (a table whose header starts with \"version\")";
  ASSERT_EQ(t->rows.size(), kWireVersion) << kPage << ": the version history should have one row per version 1.."
                                          << int{kWireVersion};
  for (std::size_t i = 0; i < t->rows.size(); ++i) {
    EXPECT_EQ(t->rows[i].cells.empty() ? "" : t->rows[i].cells[0], std::to_string(i + 1))
        << kPage << ":" << t->rows[i].line << ": versions in order, from 1";
  }
}

}  // namespace
}  // namespace fulcrum::real
