# Checks src/ against the layer table (cmake/layers.cmake): every `#include "folder/..."`
# names the file's own folder or one its row names; every row names only rows below it
# (no cycles) and has its folder; every folder of src/ has a row; the third-party headers
# a folder owns are included nowhere else. Prints every violation, then fails.
#
#   cmake -DSOURCE_DIR=<checkout> [-DSTAMP=<file touched on success>] -P check_layers.cmake
#
# Run by the build (CMakeLists.txt, whenever a file of src/ changes), by `ctest -L unit`
# and by `make lint`.
cmake_minimum_required(VERSION 3.25)

include(${CMAKE_CURRENT_LIST_DIR}/layers.cmake)
if(NOT SOURCE_DIR)
  get_filename_component(SOURCE_DIR ${CMAKE_CURRENT_LIST_DIR}/.. ABSOLUTE)
endif()
set(src ${SOURCE_DIR}/src)
set(errors "")
macro(violation)
  string(CONCAT _violation ${ARGN})
  list(APPEND errors "${_violation}")
endmacro()

# The table: each row once, naming only rows below it, each with its folder.
set(below "")
foreach(layer IN LISTS INFERA_LAYERS)
  if(layer IN_LIST below)
    violation("cmake/layers.cmake: '${layer}' has two rows")
  endif()
  foreach(dep IN LISTS INFERA_LAYER_DEPS_${layer})
    if(dep STREQUAL layer)
      violation("cmake/layers.cmake: '${layer}' names itself")
    elseif(NOT dep IN_LIST INFERA_LAYERS)
      violation("cmake/layers.cmake: '${layer}' names '${dep}', which has no row")
    elseif(NOT dep IN_LIST below)
      violation("cmake/layers.cmake: '${layer}' names '${dep}', which is not below it (a "
                "cycle, or the row out of order: move what ${layer}/ needs from ${dep}/ down, "
                "or move the row)")
    endif()
  endforeach()
  if(NOT IS_DIRECTORY ${src}/${layer})
    violation("cmake/layers.cmake: '${layer}' has a row but src/${layer}/ does not exist")
  endif()
  list(APPEND below ${layer})
endforeach()

file(GLOB folders LIST_DIRECTORIES true RELATIVE ${src} ${src}/*)
foreach(folder IN LISTS folders)
  if(IS_DIRECTORY ${src}/${folder} AND NOT folder IN_LIST INFERA_LAYERS)
    violation("src/${folder}/ has no row in cmake/layers.cmake")
  endif()
endforeach()

# The includes of every file.
file(GLOB_RECURSE files RELATIVE ${src} ${src}/*.h ${src}/*.cc)
list(SORT files)
foreach(file IN LISTS files)
  if(NOT file MATCHES "^([^/]+)/")
    violation("src/${file}: a file directly in src/ belongs to no layer")
    continue()
  endif()
  set(layer ${CMAKE_MATCH_1})
  if(NOT layer IN_LIST INFERA_LAYERS)
    continue()  # reported above
  endif()
  file(STRINGS ${src}/${file} includes REGEX "^[ \t]*#[ \t]*include[ \t]*[<\"]")
  foreach(line IN LISTS includes)
    if(line MATCHES "^[ \t]*#[ \t]*include[ \t]*\"(([^\"/]+)/[^\"]*)\"")
      set(header ${CMAKE_MATCH_1})
      set(folder ${CMAKE_MATCH_2})
      if(folder IN_LIST INFERA_LAYERS AND NOT folder STREQUAL layer
         AND NOT folder IN_LIST INFERA_LAYER_DEPS_${layer})
        string(REPLACE ";" " " allowed "${INFERA_LAYER_DEPS_${layer}}")
        if(NOT allowed)
          set(allowed "no other folder")
        endif()
        violation("src/${file} includes \"${header}\", but ${layer}/ may include only: "
                  "${allowed} (cmake/layers.cmake)")
      endif()
    elseif(line MATCHES "^[ \t]*#[ \t]*include[ \t]*<([^>]+)>")
      set(header ${CMAKE_MATCH_1})
      # A prefix may have several owners (OpenCV: backends/onnx and assist): a file may
      # include it when it is inside any of them.
      set(owners "")
      set(inside FALSE)
      foreach(owner IN LISTS INFERA_PRIVATE_HEADER_OWNERS)
        foreach(prefix IN LISTS INFERA_PRIVATE_HEADERS_${owner})
          string(FIND "${header}" "${prefix}" at)
          if(at EQUAL 0)
            list(APPEND owners "src/${owner}/")
            if(file MATCHES "^${owner}/")
              set(inside TRUE)
            endif()
          endif()
        endforeach()
      endforeach()
      if(owners AND NOT inside)
        list(REMOVE_DUPLICATES owners)
        string(REPLACE ";" " or " owners "${owners}")
        violation("src/${file} includes <${header}>, which only ${owners} may "
                  "include (cmake/layers.cmake)")
      endif()
    endif()
  endforeach()
endforeach()

if(errors)
  list(LENGTH errors count)
  string(REPLACE ";" "\n  " text "${errors}")
  message(FATAL_ERROR "layering: ${count} violation(s):\n  ${text}\n")
endif()
list(LENGTH files file_count)
list(LENGTH INFERA_LAYERS layer_count)
message(STATUS "layering: ${file_count} files of src/ keep to the ${layer_count} layers")
if(STAMP)
  file(TOUCH ${STAMP})
endif()
