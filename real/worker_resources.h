// What a real-mode worker offers (issue 16): its flags' parsers and what it detects of
// the machine it runs on (`fulcrum worker --slots/--memory/--resources/--label/--zone`).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/expected.h"
#include "core/cluster.h"
#include "core/resources.h"
#include "real/cgroups.h"

namespace fulcrum::real {

// A byte size, as a scenario writes one (scenario/scenario.h, parse_bytes): bytes or a
// number and a unit, 512MiB, 4GiB, 4G (= 4e9: k, M, G, T are powers of 1000, Ki, Mi, Gi,
// Ti of 1024), surrounding spaces ignored. The Error says what is wrong, without the flag.
Expected<double> parse_byte_size(std::string_view text);

// "gpus=2,licence=4" into r.gpus and r.other (amounts: finite numbers >= 0; a name given
// twice is an error). cores and memory are refused here: they are --slots and --memory.
Expected<bool> parse_resource_list(std::string_view text, Resources& r);

// "key=value": a label (key non-empty, no '='; the key `zone` is refused: that is --zone).
Expected<std::pair<std::string, std::string>> parse_label(std::string_view text);

// CPUs this process may run on (sched_getaffinity), lowered to the cgroup's CPU quota
// rounded up; at least 1.
int detect_cores(const CgroupLayout& layout);
// MemTotal of /proc/meminfo, lowered to the cgroup's memory limit; 0 if unknown.
double detect_memory(const CgroupLayout& layout, const std::string& meminfo = "/proc/meminfo");

// `fulcrum worker`'s resource flags as given (empty / unset: not given).
struct WorkerResourceFlags {
  int slots = 0;                    // --slots; 0: not given, detect
  std::string memory;               // --memory SIZE; "": detect; "0": not limited
  std::string resources;            // --resources gpus=2,licence=4
  std::vector<std::string> labels;  // --label KEY=VALUE, repeatable
  std::string zone;                 // --zone NAME
};

// Sets w's slots, resources (memory, gpus, other), labels and zone from the flags alone,
// detecting what is not given (cores and memory of this machine and its cgroup). The
// Error names the flag.
Expected<bool> apply_worker_resource_flags(const WorkerResourceFlags& flags, const CgroupLayout& layout,
                                           WorkerSpec& w);

// "23.5 GiB", "512 MiB", "1000 bytes"; "not limited" for 0.
std::string format_bytes(double bytes);

}  // namespace fulcrum::real
