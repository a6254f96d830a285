# The default scenario is scenario/default.yaml: a file to read and copy like any other
# scenario, and the only copy of it. This compiles it into the program, as the
# default_scenario_yaml() of scenario/load.h, so that `fulcrum` runs it with no scenario
# and no source tree. The file has two roles:
# - include()d by a project: sets FULCRUM_DEFAULT_SCENARIO_CC, a source that the build
#   generates from default.yaml, again whenever default.yaml changes;
# - run as `cmake -DIN=default.yaml -DOUT=file.cc -P default_scenario.cmake`: writes it.
if(CMAKE_SCRIPT_MODE_FILE)
  file(READ "${IN}" FULCRUM_DEFAULT_SCENARIO_TEXT)
  string(FIND "${FULCRUM_DEFAULT_SCENARIO_TEXT}" ")yaml\"" end_of_literal)
  if(NOT end_of_literal EQUAL -1)
    message(FATAL_ERROR "${IN} contains )yaml\", which would end the raw string literal it is embedded in")
  endif()
  # file(CONFIGURE) rewrites OUT only when its content changes.
  file(CONFIGURE OUTPUT "${OUT}" @ONLY CONTENT [=[
// Generated from scenario/default.yaml by scenario/default_scenario.cmake: edit that file.
#include "scenario/load.h"

namespace fulcrum {

std::string_view default_scenario_yaml() {
  return R"yaml(@FULCRUM_DEFAULT_SCENARIO_TEXT@)yaml";
}

}  // namespace fulcrum
]=])
  return()
endif()

set(FULCRUM_DEFAULT_SCENARIO_CC ${CMAKE_CURRENT_BINARY_DIR}/generated/default_scenario.cc)
add_custom_command(OUTPUT ${FULCRUM_DEFAULT_SCENARIO_CC}
  COMMAND ${CMAKE_COMMAND} -DIN=${CMAKE_CURRENT_LIST_DIR}/default.yaml -DOUT=${FULCRUM_DEFAULT_SCENARIO_CC}
    -P ${CMAKE_CURRENT_LIST_FILE}
  DEPENDS ${CMAKE_CURRENT_LIST_DIR}/default.yaml ${CMAKE_CURRENT_LIST_FILE}
  COMMENT "Embedding scenario/default.yaml"
  VERBATIM)
