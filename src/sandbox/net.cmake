# The sandbox's network modes (egress, none): netlink client, DNS relay, egress setup. Included by
# src/sandbox/CMakeLists.txt; kept in its own file so the two sandbox work streams merge cleanly.
target_sources(cloudcoop_lib PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/dns_message.cc
  ${CMAKE_CURRENT_LIST_DIR}/dns_relay.cc
  ${CMAKE_CURRENT_LIST_DIR}/net_addr.cc
  ${CMAKE_CURRENT_LIST_DIR}/net_egress.cc
  ${CMAKE_CURRENT_LIST_DIR}/netlink.cc
)

cloudcoop_test(NAME sandbox_net_test SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/dns_relay_test.cc
  ${CMAKE_CURRENT_LIST_DIR}/net_egress_test.cc
)

# End-to-end tests inside test-made network namespaces (testing/netns_topology.h); need root.
cloudcoop_test(NAME sandbox_net_netns_test SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/net_egress_netns_test.cc
  LIBS cc_netns_topology
  LABELS netns
)
if(CLOUDCOOP_BUILD_TESTS)
  add_dependencies(sandbox_net_netns_test cc_net_probe)
endif()

# bench/bench_net_egress.cc: per-sandbox egress setup, netlink vs `ip` (bench/bench_net_egress.sh).
if(CLOUDCOOP_BUILD_TESTS)
  add_executable(bench_net_egress ${CMAKE_SOURCE_DIR}/bench/bench_net_egress.cc)
  target_link_libraries(bench_net_egress PRIVATE cc_netns_topology)
  set_target_properties(bench_net_egress PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bench)
endif()

# Network mode egress through `cloudcoop sandbox run`, inside the test topology (needs root).
cloudcoop_test(NAME sandbox_net_root_test SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/net_egress_root_test.cc
  LIBS cc_netns_topology
  LABELS netns
)
if(CLOUDCOOP_BUILD_TESTS)
  add_dependencies(sandbox_net_root_test cloudcoop_probe cloudcoop cc_net_probe)
endif()
