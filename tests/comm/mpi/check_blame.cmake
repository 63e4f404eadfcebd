# Runs `<launch> mpi_blame_check <MODE> <VICTIM>` (see mpi_blame_main.cc) and
# checks the timeout lines the ranks printed before the job ended:
#   - at least one reports what holds the job up;
#   - every report names world rank VICTIM, and no other rank, as the rank
#     that did not arrive or stopped, and none is unknown or points at tensor
#     sizes;
#   - every other line defers to a rank that reports.
# -DLAUNCH=<mpiexec|-n|4|flags...> (| separates arguments) -DCHECK=<executable>
# -DPOST=<flags after the executable, | separated> -DMODE=stopped|frozen -DVICTIM=<0..3>

string(REPLACE "|" ";" launch "${LAUNCH}")
string(REPLACE "|" ";" post "${POST}")
execute_process(COMMAND ${launch} ${CHECK} ${post} ${MODE} ${VICTIM}
                OUTPUT_VARIABLE out ERROR_VARIABLE out RESULT_VARIABLE rc TIMEOUT 60)

function(fail why)
  message(FATAL_ERROR "${why}\n--- output (exit ${rc}) ---\n${out}")
endfunction()

if(rc EQUAL 0)
  fail("the job ended normally: no rank timed out")
endif()
if(out MATCHES "completed without")
  fail("a collective completed without world rank ${VICTIM}")
endif()

# One group member's name in a report: "2", "1 (world 3)".
set(member "[0-9]+( \\(world [0-9]+\\))?")
# The lines hold semicolons, which would split CMake's lists.
string(REPLACE ";" "<semicolon>" text "${out}")
string(REGEX MATCHALL "timed out after [0-9.]+ s: [^\n]*<semicolon> seen by rank [^\n]*" lines
       "${text}")
set(reports 0)
foreach(line IN LISTS lines)
  string(REGEX REPLACE "^timed out after [0-9.]+ s: (.*)<semicolon> seen by rank .*$" "\\1" what
         "${line}")
  string(REPLACE "<semicolon>" ";" line "${line}")
  if(what MATCHES "^world rank [0-9]+ timed out as well and reports what holds the job up$")
    continue()
  endif()
  math(EXPR reports "${reports} + 1")
  if(what MATCHES "unknown|differ in size|does not know|did not run")
    fail("a report does not name the stopped rank: ${line}")
  endif()
  # "rank(s) 1 (world 3), 2 did not arrive", "world rank(s) 3 issued it, ...",
  # "rank(s) 3 did not answer, and every other rank arrived" (read by asking)
  string(REGEX MATCHALL
         "(world )?rank\\(s\\) ${member}(, ${member})* (did not arrive|issued it|did not answer)"
         blamed "${what}")
  if(NOT blamed)
    fail("a report names no rank as the one: ${line}")
  endif()
  foreach(phrase IN LISTS blamed)
    string(REGEX REPLACE " (did not arrive|issued it|did not answer)$" "" names "${phrase}")
    string(REGEX REPLACE "^(world )?rank\\(s\\) " "" names "${names}")
    string(REGEX MATCHALL "${member}" names "${names}")
    foreach(name IN LISTS names)
      if(name MATCHES "\\(world ([0-9]+)\\)")
        set(world_rank ${CMAKE_MATCH_1})
      else()
        string(REGEX MATCH "^[0-9]+" world_rank "${name}")
      endif()
      if(NOT world_rank EQUAL VICTIM)
        fail("a report names world rank ${world_rank}, not the stopped ${VICTIM}: ${line}")
      endif()
    endforeach()
  endforeach()
endforeach()
if(reports EQUAL 0)
  fail("no rank reported what holds the job up")
endif()
list(LENGTH lines count)
message(STATUS "${count} timeout line(s), ${reports} report(s), each naming world rank ${VICTIM}")
