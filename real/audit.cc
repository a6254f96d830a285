#include "real/audit.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace fulcrum::real {

std::string audit_json(const AuditEntry& e) {
  nlohmann::ordered_json j;
  j["time"] = e.time;
  j["who"] = e.who;
  j["role"] = e.role;
  j["tenant"] = e.tenant;
  j["peer"] = e.peer;
  j["action"] = e.action;
  j["target"] = e.target;
  j["accepted"] = e.accepted;
  j["reason"] = e.reason;
  // Replacement characters for bytes that are not UTF-8 (a reason may quote a client).
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Expected<std::unique_ptr<AuditLog>> AuditLog::open(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  const std::string path = (std::filesystem::path(dir) / "audit.log").string();
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return Error{path + ": cannot open for appending: " + std::strerror(errno)};
  return std::unique_ptr<AuditLog>(new AuditLog(fd, path));
}

AuditLog::~AuditLog() {
  (void)commit();
  ::close(fd_);
}

void AuditLog::append(const AuditEntry& e) {
  pending_ += audit_json(e);
  pending_ += '\n';
  ++entries_;
}

Expected<bool> AuditLog::commit() {
  if (pending_.empty()) return true;
  std::string batch;
  batch.swap(pending_);
  for (std::size_t done = 0; done < batch.size();) {
    const ssize_t n = ::write(fd_, batch.data() + done, batch.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Error{path_ + ": cannot write: " + std::strerror(errno)};
    done += static_cast<std::size_t>(n);
  }
  if (::fdatasync(fd_) != 0) return Error{path_ + ": cannot sync: " + std::strerror(errno)};
  return true;
}

Expected<std::uint64_t> dump_audit(const std::string& path, bool json, std::ostream& out, std::ostream& err) {
  std::error_code ec;
  const std::string file =
      std::filesystem::is_directory(path, ec) ? (std::filesystem::path(path) / "audit.log").string() : path;
  std::ifstream in(file);
  if (!in) return Error{file + ": cannot read (no audit trail: the scheduler writes one beside its journal)"};
  std::string line;
  std::uint64_t printed = 0, number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty()) continue;
    nlohmann::ordered_json j = nlohmann::ordered_json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("action")) {
      err << "warning: " << file << ":" << number << ": not an audit entry (torn by a crash?), skipped\n";
      continue;
    }
    ++printed;
    if (json) {
      out << line << "\n";
      continue;
    }
    out << "Audit";
    for (const auto& [key, value] : j.items()) {
      if (key == "time" && value.is_number()) {
        out << fmt::format(" time={:.6f}", value.get<double>());
      } else {
        out << " " << key << "=" << value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      }
    }
    out << "\n";
  }
  return printed;
}

}  // namespace fulcrum::real
