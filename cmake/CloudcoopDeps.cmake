# Dependencies, all from Debian packages (scripts/install-deps). Why each one: docs/adr/0002-dependencies.md.
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)

# libseccomp and ncursesw are linked statically so the binary only asks the dynamic loader for libc.
find_library(SECCOMP_STATIC libseccomp.a REQUIRED)
find_path(SECCOMP_INCLUDE seccomp.h REQUIRED)
add_library(cc_seccomp INTERFACE)
target_link_libraries(cc_seccomp INTERFACE ${SECCOMP_STATIC})
target_include_directories(cc_seccomp INTERFACE ${SECCOMP_INCLUDE})

find_library(NCURSESW_STATIC libncursesw.a REQUIRED)
find_library(TINFO_STATIC libtinfo.a REQUIRED)
add_library(cc_ncursesw INTERFACE)
target_link_libraries(cc_ncursesw INTERFACE ${NCURSESW_STATIC} ${TINFO_STATIC})

# toml++ is used header-only in a single translation unit (src/config/toml_reader.cc).
find_path(TOMLPLUSPLUS_INCLUDE toml++/toml.h REQUIRED)

# libcurl is loaded with dlopen on first use (src/cloud/gcp/curl_loader.cc); only its headers are needed.
find_path(CURL_INCLUDE curl/curl.h REQUIRED)

if(CLOUDCOOP_BUILD_TESTS)
  find_package(GTest REQUIRED)
  pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)
  include(GoogleTest)
endif()
