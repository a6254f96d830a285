// The workload loaders on arbitrary files: the first byte picks SWF, WfCommons JSON or
// fulcrum's DAG JSON (the rest is the file). Each returns its value or an Error naming the
// file; never a crash or a hang.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>

#include "workload/loaders.h"

using namespace fulcrum;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  static const std::string path = "/tmp/fulcrum_loaders_fuzz_" + std::to_string(::getpid());
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data + 1), static_cast<std::streamsize>(size - 1));
  }
  std::string error;
  switch (data[0] % 3) {
    case 0: {
      SwfOptions options;
      options.max_jobs = 1000;
      auto t = load_swf(path, options);
      if (!t.ok()) error = t.error();
      break;
    }
    case 1: {
      auto j = load_wfcommons(path);
      if (!j.ok()) error = j.error();
      break;
    }
    default: {
      auto j = load_dag_json(path);
      if (!j.ok()) error = j.error();
      break;
    }
  }
  if (!error.empty() && error.find(path) == std::string::npos) __builtin_trap();  // errors name the file
  return 0;
}
