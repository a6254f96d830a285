#include "cli/journal_command.h"

#include <iostream>
#include <memory>
#include <string>

#include "real/audit.h"
#include "real/journal_dump.h"

namespace fulcrum {
namespace {

constexpr int kExitDamaged = 1;   // the journal is damaged: the records before it were printed
constexpr int kExitBadInput = 2;  // no journal could be read (or bad flags)

struct DumpArgs {
  std::string path;
  std::string zk;
  std::string zk_root = "/fulcrum";  // the scheduler's default
  bool json = false;
  bool audit = false;
};

int run_dump(const DumpArgs& a) {
  if (a.path.empty() == a.zk.empty()) {
    std::cerr << "error: journal dump needs a journal PATH or --zk (one of them)\n";
    return kExitBadInput;
  }
  if (a.audit) {
    if (a.path.empty()) {
      std::cerr << "error: --audit reads the audit trail beside a file journal: give its PATH\n";
      return kExitBadInput;
    }
    auto printed = real::dump_audit(a.path, a.json, std::cout, std::cerr);
    if (!printed) {
      std::cerr << "error: " << printed.error() << "\n";
      return kExitBadInput;
    }
    return 0;
  }
  const auto format = a.json ? real::DumpFormat::kJson : real::DumpFormat::kText;
  const real::DumpResult r = a.zk.empty() ? real::dump_file_journal(a.path, format, std::cout)
                                          : real::dump_zk_journal(a.zk, a.zk_root, format, std::cout);
  if (r.error.empty()) return 0;
  std::cerr << "error: " << r.error;
  if (!r.unreadable) std::cerr << "; the " << r.records << " record(s) before it were printed";
  std::cerr << "\n";
  return r.unreadable ? kExitBadInput : kExitDamaged;
}

}  // namespace

void add_journal_command(CLI::App& app, std::vector<std::pair<CLI::App*, std::function<int()>>>& runners) {
  CLI::App* journal = app.add_subcommand("journal", "Inspect a scheduler's journal (real mode)");
  journal->require_subcommand(1);
  auto args = std::make_shared<DumpArgs>();
  CLI::App* dump = journal->add_subcommand("dump", "Print every record of a journal, one line each, in order (read-only)");
  auto* path = dump->add_option("path", args->path, "A file journal: the scheduler's --journal folder, or its journal.log");
  auto* zk = dump->add_option("--zk", args->zk, "ZooKeeper HOST:PORT[,...]: print the journal kept there (replicas' --zk)");
  path->excludes(zk);
  dump->add_option("--zk-root", args->zk_root, "ZooKeeper path of the cluster")->capture_default_str()->needs(zk);
  dump->add_flag("--audit", args->audit,
                 "Print the audit trail instead (PATH/audit.log): who asked for each submit, cancel, shutdown and "
                 "register, and whether it was allowed");
  dump->add_flag("--json", args->json, "JSON Lines: one object per record, its kind in \"type\", then every field");
  dump->footer(
      "Exit 0: all printed; 1: the journal is damaged (the records before the damage are printed, the error names "
      "the file and offset); 2: no journal could be read.\n"
      "Example: fulcrum journal dump /var/lib/fulcrum --json");
  runners.emplace_back(dump, [args] { return run_dump(*args); });
}

}  // namespace fulcrum
