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
  # gtest_discover_tests flattens list-valued PROPERTIES (a second label or environment variable
  # became a property name of its own), so the properties are set by a file ctest includes after
  # the discovered tests.
  gtest_discover_tests(${T_NAME} DISCOVERY_TIMEOUT 60 TEST_LIST ${T_NAME}_TESTS)
  set(props "${CMAKE_CURRENT_BINARY_DIR}/${T_NAME}_properties.cmake")
  file(GENERATE OUTPUT "${props}" CONTENT "if(${T_NAME}_TESTS)
  set_tests_properties(\${${T_NAME}_TESTS} PROPERTIES LABELS \"${T_LABELS}\" TIMEOUT ${T_TIMEOUT}
    ENVIRONMENT \"CLOUDCOOP_BINARY=$<TARGET_FILE:cloudcoop>;CLOUDCOOP_SOURCE_DIR=${CMAKE_SOURCE_DIR};CLOUDCOOP_BUILD_DIR=${CMAKE_BINARY_DIR}\")
endif()
")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES "${props}")
endfunction()
