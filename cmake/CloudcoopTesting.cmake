# cloudcoop_test(NAME <binary> SOURCES <files...> LIBS <libs...> [LABELS <labels...>])
#
# One test binary per module and per set of needs. LABELS say what the tests need beyond a plain
# build: root, tmux, netns, sshd, gcloud. Tests with no label are pure unit tests.
function(cloudcoop_test)
  if(NOT CLOUDCOOP_BUILD_TESTS)
    return()
  endif()
  cmake_parse_arguments(T "" "NAME;TIMEOUT" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${T_NAME} ${T_SOURCES})
  target_link_libraries(${T_NAME} PRIVATE ${T_LIBS} cc_testmain GTest::gtest GTest::gmock)
  if(NOT T_LABELS)
    set(T_LABELS unit)
  endif()
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  gtest_discover_tests(${T_NAME}
    DISCOVERY_TIMEOUT 60
    PROPERTIES LABELS "${T_LABELS}" TIMEOUT ${T_TIMEOUT})
  # No ENVIRONMENT property: gtest_discover_tests keeps only the first item of a list-valued one.
  # The binary, source and build directories are compiled into cc_testmain (testing/test_main.cc).
endfunction()
