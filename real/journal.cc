#include "real/journal.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <filesystem>
#include <system_error>
#include <utility>

#include "core/codec.h"

namespace fulcrum::real {
namespace {

constexpr std::string_view kMagic = "FULCRUMJ";
constexpr std::uint32_t kFileVersion = 1;
constexpr std::size_t kHeaderBytes = 12;      // magic + u32 file version
constexpr std::size_t kFrameBytes = 8;        // u32 length + u32 crc before each body
constexpr std::uint8_t kRecordVersion = 1;
// Each type's newest format; older ones are still read. JobAccepted: 2 added request_id,
// 3 carries the whole JobSpec, from 3 on the version is the JobSpec's field-list schema
// (core/job_spec.h, kSchema: 4 adds resources and constraints, 5 estimates and gangs, 6 tenants and priority classes).
// TaskFailed: 2 adds the last attempt's start. JobCancelled: 2 adds each task's attempts
// and last start.
constexpr std::uint8_t kJobAcceptedVersion = kSchema;
static_assert(kJobAcceptedVersion >= 3);
constexpr std::uint8_t kTaskFailedVersion = 2;
constexpr std::uint8_t kJobCancelledVersion = 2;
constexpr std::size_t kReadChunk = 1u << 20;  // replay reads the file in pieces this big

enum RecordType : std::uint8_t {
  kJobAccepted = 1,
  kTaskFinished = 2,
  kTaskFailed = 3,
  kJobCancelled = 4,
  kJobPlanned = 5,
};

// ---- CRC-32 ----

constexpr std::array<std::uint32_t, 256> make_crc_table() {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    table[i] = c;
  }
  return table;
}

// ---- little-endian encoding ----

void put_u32(char* p, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>(v >> (8 * i));
}

std::uint32_t get_u32(const char* p) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= std::uint32_t{static_cast<unsigned char>(p[i])} << (8 * i);
  return v;
}

// Record bodies: type, format version, then the record's fields through its field list
// (core/durable.h) in the binary form of core/codec.h.
constexpr std::uint8_t type_of(const JobAccepted&) { return kJobAccepted; }
constexpr std::uint8_t type_of(const TaskFinished&) { return kTaskFinished; }
constexpr std::uint8_t type_of(const TaskFailed&) { return kTaskFailed; }
constexpr std::uint8_t type_of(const JobCancelled&) { return kJobCancelled; }
constexpr std::uint8_t type_of(const JobPlanned&) { return kJobPlanned; }
constexpr std::uint8_t version_of(const JobAccepted&) { return kJobAcceptedVersion; }
constexpr std::uint8_t version_of(const TaskFinished&) { return kRecordVersion; }
constexpr std::uint8_t version_of(const TaskFailed&) { return kTaskFailedVersion; }
constexpr std::uint8_t version_of(const JobCancelled&) { return kJobCancelledVersion; }
constexpr std::uint8_t version_of(const JobPlanned&) { return kRecordVersion; }

void encode_body(const JournalRecord& record, std::string& out) {
  std::visit(
      [&](const auto& r) {
        BinaryWriter w(out);
        w.put(type_of(r));
        w.put(version_of(r));
        w.put_struct(r);
      },
      record);
}

// JobAccepted versions 1 and 2 (before TaskSpec): each task was kind, command, flops,
// timeout, parents; version 2 added request_id at the end.
void read_legacy_job(BinaryReader& d, std::uint8_t version, JobAccepted& r) {
  d.get(r.job);
  d.get(r.submit);
  std::uint32_t n = 0;
  d.get(n);
  // Smallest task: kind, empty command, flops, timeout, no parents.
  if (n > 0 && !d.failed()) r.spec.tasks.reserve(std::min<std::uint32_t>(n, 1u << 20));
  for (std::uint32_t i = 0; i < n && !d.failed(); ++i) {
    TaskSpec& t = r.spec.tasks.emplace_back();
    d.enumeration("kind", t.kind, TaskKind::kSleep);
    d.get(t.command);
    d.get(t.flops);
    d.get(t.timeout);
    d.get(t.parents);
  }
  if (version == 2) d.get(r.request_id);
}

template <class R> JournalRecord read_record(BinaryReader& d) {
  R r;
  d.get_struct(r);
  return r;
}

// Decodes a body whose checksum matched. An Error here means the record is well-formed
// on disk but not something this build understands (or a bug), not a torn write.
Expected<JournalRecord> decode(std::string_view body) {
  BinaryReader d(body);
  std::uint8_t type = 0, version = 0;
  d.get(type);
  d.get(version);
  std::uint8_t newest = kRecordVersion;
  switch (type) {
    case kJobAccepted: newest = kJobAcceptedVersion; break;
    case kTaskFailed: newest = kTaskFailedVersion; break;
    case kJobCancelled: newest = kJobCancelledVersion; break;
    default: break;
  }
  if (version < 1 || version > newest) return Error{"unsupported record format version " + std::to_string(version)};
  JournalRecord record;
  switch (type) {
    case kJobAccepted:
      if (version < 3) {
        JobAccepted r;
        read_legacy_job(d, version, r);
        record = std::move(r);
      } else {
        d.set_schema(version);
        record = read_record<JobAccepted>(d);
      }
      break;
    case kTaskFinished: record = read_record<TaskFinished>(d); break;
    case kTaskFailed:
      if (version == 1) {  // no start: the fields before it
        TaskFailed r;
        d.get(r.task);
        d.get(r.end);
        d.get(r.attempts);
        d.get(r.outcome);
        record = std::move(r);
      } else {
        record = read_record<TaskFailed>(d);
      }
      break;
    case kJobCancelled:
      if (version == 1) {  // no per-task attempts and starts
        JobCancelled r;
        d.get(r.job);
        d.get(r.time);
        record = std::move(r);
      } else {
        record = read_record<JobCancelled>(d);
      }
      break;
    case kJobPlanned: record = read_record<JobPlanned>(d); break;
    default:
      return Error{"unknown record type " + std::to_string(type)};
  }
  if (d.failed()) return Error{"record is shorter than its fields (" + d.error() + ")"};
  if (!d.at_end()) return Error{"record has bytes after its fields"};
  return record;
}

// ---- POSIX helpers: retry on EINTR, finish short transfers ----

std::string errno_text(int err) { return std::generic_category().message(err); }

Error os_error(const std::string& path, const char* what, int err) {
  std::string m = path;
  m += ": ";
  m += what;
  m += ": ";
  m += errno_text(err);
  return Error{std::move(m)};
}

// Returns the bytes read, fewer than `n` only at end of file; -1 with errno on error.
ssize_t pread_all(int fd, char* buf, std::size_t n, std::uint64_t off) {
  std::size_t done = 0;
  while (done < n) {
    const ssize_t r = ::pread(fd, buf + done, n - done, static_cast<off_t>(off + done));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return -1;
    if (r == 0) break;
    done += static_cast<std::size_t>(r);
  }
  return static_cast<ssize_t>(done);
}

bool pwrite_all(int fd, std::string_view data, std::uint64_t off) {
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t w =
        ::pwrite(fd, data.data() + done, data.size() - done, static_cast<off_t>(off + done));
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return false;
    done += static_cast<std::size_t>(w);
  }
  return true;
}

bool datasync(int fd) {
  int r;
  do r = ::fdatasync(fd); while (r < 0 && errno == EINTR);
  return r == 0;
}

bool truncate_fd(int fd, std::uint64_t size) {
  int r;
  do r = ::ftruncate(fd, static_cast<off_t>(size)); while (r < 0 && errno == EINTR);
  return r == 0;
}

// Makes the entries of a directory durable (a new file or subdirectory in it).
Expected<bool> sync_dir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return os_error(dir, "open directory", errno);
  const bool ok = ::fsync(fd) == 0;
  const int err = errno;
  ::close(fd);
  if (!ok) return os_error(dir, "fsync directory", err);
  return true;
}

std::string file_header() {
  std::string h(kMagic);
  char v[4];
  put_u32(v, kFileVersion);
  h.append(v, 4);
  return h;
}

// Replay reads the file front to back through a window of kReadChunk bytes rather than
// a syscall per field or the whole file at once.
class FileReader {
 public:
  FileReader(int fd, const std::string& path) : fd_(fd), path_(path) {}

  // The `n` bytes at `off`, valid until the next call. REQUIRES: they are in the file.
  Expected<std::string_view> read(std::uint64_t off, std::size_t n, std::uint64_t file_size) {
    if (off < buf_off_ || off + n > buf_off_ + buf_.size()) {
      const std::uint64_t want = std::max<std::uint64_t>(n, kReadChunk);
      buf_.resize(static_cast<std::size_t>(std::min(want, file_size - off)));
      const ssize_t got = pread_all(fd_, buf_.data(), buf_.size(), off);
      if (got < 0) return os_error(path_, "read", errno);
      if (static_cast<std::size_t>(got) < n) {
        return Error{path_ + ": read: file shrank during replay"};
      }
      buf_.resize(static_cast<std::size_t>(got));
      buf_off_ = off;
    }
    return std::string_view(buf_).substr(static_cast<std::size_t>(off - buf_off_), n);
  }

 private:
  int fd_;
  const std::string& path_;
  std::string buf_;
  std::uint64_t buf_off_ = 0;
};

}  // namespace

std::uint32_t crc32(std::string_view data) {
  static constexpr std::array<std::uint32_t, 256> kTable = make_crc_table();
  std::uint32_t c = 0xFFFFFFFFu;
  for (char ch : data) c = kTable[(c ^ static_cast<unsigned char>(ch)) & 0xFFu] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

std::size_t encode_record(const JournalRecord& record, std::string& out) {
  const std::size_t start = out.size();
  out.append(kFrameBytes, '\0');
  encode_body(record, out);
  const std::size_t length = out.size() - start - kFrameBytes;
  if (length > kMaxRecordBytes) {
    out.resize(start);
    return length;
  }
  put_u32(out.data() + start, static_cast<std::uint32_t>(length));
  put_u32(out.data() + start + 4, crc32(std::string_view(out).substr(start + kFrameBytes, length)));
  return length;
}

Expected<std::uint64_t> decode_records(std::string_view data, const std::string& where,
                                       const std::function<void(const JournalRecord&)>& apply) {
  std::uint64_t n = 0;
  for (std::size_t off = 0; off < data.size();) {
    if (data.size() - off < kFrameBytes) return Error{where + ": short record frame"};
    const std::uint32_t length = get_u32(data.data() + off);
    const std::uint32_t crc = get_u32(data.data() + off + 4);
    if (length < 2 || length > data.size() - off - kFrameBytes) return Error{where + ": bad record length"};
    const std::string_view body = data.substr(off + kFrameBytes, length);
    if (crc32(body) != crc) return Error{where + ": bad record checksum"};
    auto record = decode(body);
    if (!record) return Error{where + ": " + record.error()};
    apply(*record);
    ++n;
    off += kFrameBytes + length;
  }
  return n;
}

Journal::Journal(int fd, std::string path, std::uint64_t size)
    : fd_(fd), path_(std::move(path)), size_(size) {}

Journal::~Journal() { ::close(fd_); }

Expected<std::unique_ptr<Journal>> Journal::open(const std::string& dir) {
  namespace fs = std::filesystem;
  if (dir.empty()) return Error{"journal directory: empty path"};

  // The levels of DIR that do not exist yet: once created, their parents are fsynced so
  // that a crash cannot lose the directory under a journal we already acknowledged from.
  std::vector<fs::path> created;
  std::error_code ec;
  for (fs::path p(dir); !p.empty() && !fs::exists(p, ec); p = p.parent_path()) {
    created.push_back(p);
    if (p == p.parent_path()) break;
  }
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir, ec)) {
    if (!ec) ec = std::make_error_code(std::errc::not_a_directory);
    return Error{dir + ": cannot create journal directory: " + ec.message()};
  }
  for (const fs::path& p : created) {
    const fs::path parent = p.parent_path();
    auto synced = sync_dir(parent.empty() ? std::string(".") : parent.string());
    if (!synced) return Error{synced.error()};
  }

  std::string path = (fs::path(dir) / "journal.log").string();
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return os_error(path, "open", errno);
  // From here on the Journal owns the fd and closes it on every error path.
  std::unique_ptr<Journal> j(new Journal(fd, path, 0));

  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      return Error{path + ": locked: another scheduler has this journal open"};
    }
    return os_error(path, "flock", errno);
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) return os_error(path, "stat", errno);
  const auto size = static_cast<std::uint64_t>(st.st_size);

  const std::string header = file_header();
  std::string head(std::min<std::uint64_t>(size, kHeaderBytes), '\0');
  const ssize_t got = pread_all(fd, head.data(), head.size(), 0);
  if (got < 0) return os_error(path, "read", errno);
  head.resize(static_cast<std::size_t>(got));

  if (head.size() < kHeaderBytes && std::string_view(header).starts_with(head)) {
    // A new file, or a crash while the header of a new file was being written: nothing
    // was ever committed to it, so (re)writing the header loses nothing.
    if (!pwrite_all(fd, header, 0)) return os_error(path, "write", errno);
    if (!datasync(fd)) return os_error(path, "fdatasync", errno);
    auto synced = sync_dir(dir);
    if (!synced) return Error{synced.error()};
    j->size_ = kHeaderBytes;
    return j;
  }
  if (head.size() < kHeaderBytes || !std::string_view(head).starts_with(kMagic)) {
    return Error{path + ": not a fulcrum journal"};
  }
  const std::uint32_t version = get_u32(head.data() + kMagic.size());
  if (version != kFileVersion) {
    return Error{path + ": journal file version " + std::to_string(version) +
                 " is not supported (this build reads version " +
                 std::to_string(kFileVersion) + ")"};
  }
  j->size_ = size;
  return j;
}

Expected<Journal::ReplayStats> Journal::replay(
    const std::function<void(const JournalRecord&)>& apply) {
  if (replayed_) return Error{path_ + ": replay() called twice"};
  if (pending_records_ != 0) return Error{path_ + ": replay() called after append()"};

  ReplayStats stats;
  FileReader reader(fd_, path_);
  std::uint64_t off = kHeaderBytes;
  // Each iteration either hands over one intact record or finds where the journal ends.
  while (size_ - off >= kFrameBytes) {
    auto frame = reader.read(off, kFrameBytes, size_);
    if (!frame) return Error{frame.error()};
    const std::uint32_t length = get_u32(frame->data());
    const std::uint32_t crc = get_u32(frame->data() + 4);
    // Too short to hold type and version (a zero-filled tail looks like length 0 with a
    // matching crc of 0), absurdly long, or running past the end: the end.
    if (length < 2 || length > kMaxRecordBytes || length > size_ - off - kFrameBytes) break;
    auto body = reader.read(off + kFrameBytes, length, size_);
    if (!body) return Error{body.error()};
    if (crc32(*body) != crc) break;
    auto record = decode(*body);
    if (!record) {
      return Error{path_ + ": record at offset " + std::to_string(off) + ": " +
                   record.error()};
    }
    apply(*record);
    ++stats.records;
    off += kFrameBytes + length;
  }
  if (off < size_) {
    stats.truncated_bytes = size_ - off;
    auto cut = truncate_to(off);
    if (!cut) return Error{cut.error()};
  }
  committed_records_ = stats.records;
  replayed_ = true;
  return stats;
}

void Journal::append(const JournalRecord& record) {
  const std::size_t start = batch_.size();
  batch_.append(kFrameBytes, '\0');  // length and crc, filled in once the body is known
  encode_body(record, batch_);
  const std::size_t length = batch_.size() - start - kFrameBytes;
  ++pending_records_;
  if (length > kMaxRecordBytes) {
    // Remembered for commit() to refuse the batch; the bytes are not kept.
    oversized_ = std::max(oversized_, length);
    batch_.resize(start);
    return;
  }
  put_u32(batch_.data() + start, static_cast<std::uint32_t>(length));
  put_u32(batch_.data() + start + 4,
          crc32(std::string_view(batch_).substr(start + kFrameBytes, length)));
}

Expected<bool> Journal::commit() {
  if (!broken_.empty()) {
    return Error{path_ + ": journal unusable after a failed commit (" + broken_ + ")"};
  }
  if (!replayed_) return Error{path_ + ": commit() without a successful replay()"};
  if (oversized_ != 0) {
    const std::size_t length = oversized_;
    batch_.clear();
    pending_records_ = 0;
    oversized_ = 0;
    return Error{path_ + ": batch dropped: a record of " + std::to_string(length) +
                 " bytes exceeds the limit of " + std::to_string(kMaxRecordBytes)};
  }
  if (pending_records_ == 0) return true;

  const bool written = pwrite_all(fd_, batch_, size_);
  const char* what = "write";
  if (written) what = "fdatasync";
  if (!written || !datasync(fd_)) {
    const int err = errno;
    broken_ = std::string(what) + ": " + errno_text(err);
    // Best effort: take a partial batch back off the file so that a restart does not
    // replay records the caller was told failed.
    truncate_to(size_);
    return os_error(path_, what, err);
  }
  size_ += batch_.size();
  committed_records_ += pending_records_;
  pending_records_ = 0;
  batch_.clear();
  return true;
}

Expected<bool> Journal::truncate_to(std::uint64_t size) {
  if (!truncate_fd(fd_, size)) return os_error(path_, "ftruncate", errno);
  if (!datasync(fd_)) return os_error(path_, "fdatasync", errno);
  size_ = size;
  return true;
}

}  // namespace fulcrum::real
