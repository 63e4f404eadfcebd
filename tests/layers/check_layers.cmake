# Preprocesses one-line files with each layer's include path (the build's
# own, under LAYER_INCLUDE_ROOT): every public header of a layer must
# preprocess with its own layer's path (so none includes a layer above), and
# no layer may reach a header of any layer above it.
#   cmake -DCOMPILER=c++ -DLAYER_INCLUDE_ROOT=... -DSOURCE_DIR=... -DWORK_DIR=...
#         -DLAYERS="tensor;backend;...;cli" -P check_layers.cmake
file(MAKE_DIRECTORY ${WORK_DIR})
set(failures "")
set(checked 0)

# Preprocesses `#include "<header>"` seen from `layer`; sets `reached` (and
# `errors`) in the caller.
function(try_include layer header)
  set(file ${WORK_DIR}/${layer}_includes.cc)
  file(WRITE ${file} "#include \"${header}\"\n")
  execute_process(COMMAND ${COMPILER} -std=c++20 -E -o /dev/null
                          -I${LAYER_INCLUDE_ROOT}/${layer} ${file}
                  RESULT_VARIABLE rc OUTPUT_QUIET ERROR_VARIABLE errors)
  if(rc EQUAL 0)
    set(reached TRUE PARENT_SCOPE)
  else()
    set(reached FALSE PARENT_SCOPE)
    set(errors "${errors}" PARENT_SCOPE)
  endif()
endfunction()

list(LENGTH LAYERS count)
math(EXPR last "${count} - 1")
foreach(i RANGE ${last})
  list(GET LAYERS ${i} layer)
  file(GLOB headers RELATIVE ${SOURCE_DIR}/include ${SOURCE_DIR}/include/weft/${layer}/*.h)
  list(SORT headers)
  set(headers_${i} ${headers})
  # Every public header of the layer, with the layer's own include path.
  foreach(header ${headers})
    try_include(${layer} ${header})
    math(EXPR checked "${checked} + 1")
    if(NOT reached)
      list(APPEND failures "${header} does not build with only its layer and those below:\n${errors}")
    endif()
  endforeach()
endforeach()

# One header of every layer above, from each layer: none may be reached.
foreach(i RANGE ${last})
  list(GET LAYERS ${i} layer)
  foreach(j RANGE ${last})
    if(NOT j GREATER i OR NOT headers_${j})
      continue()
    endif()
    list(GET headers_${j} 0 above)
    try_include(${layer} ${above})
    math(EXPR checked "${checked} + 1")
    if(reached)
      list(APPEND failures "${layer} can include ${above}, a header of a layer above it")
    elseif(NOT errors MATCHES "No such file|file not found")  # GCC | clang
      list(APPEND failures "${layer} including ${above} failed for another reason:\n${errors}")
    endif()
  endforeach()
endforeach()

if(failures)
  list(JOIN failures "\n" message)
  message(FATAL_ERROR "${message}")
endif()
message(STATUS "${checked} includes checked: every public header builds from its own layer, "
               "and no layer reaches a layer above it")
