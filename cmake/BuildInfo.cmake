# Run at every build (cmake -P): writes build_info.cc with the current git commit, touching the file
# only when its content changes so nothing relinks needlessly.
execute_process(COMMAND git rev-parse --short=12 HEAD WORKING_DIRECTORY ${SRC}
                OUTPUT_VARIABLE CLOUDCOOP_GIT_COMMIT OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
if(NOT CLOUDCOOP_GIT_COMMIT)
  set(CLOUDCOOP_GIT_COMMIT "unknown")
endif()
execute_process(COMMAND git status --porcelain --untracked-files=no WORKING_DIRECTORY ${SRC}
                OUTPUT_VARIABLE DIRTY OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
if(DIRTY)
  set(CLOUDCOOP_GIT_COMMIT "${CLOUDCOOP_GIT_COMMIT}-dirty")
endif()
set(PROJECT_VERSION ${VERSION})
set(CMAKE_BUILD_TYPE ${BUILD_TYPE})
configure_file(${SRC}/src/core/build_info.cc.in ${OUT}.tmp @ONLY)
file(COPY_FILE ${OUT}.tmp ${OUT} ONLY_IF_DIFFERENT)
