# Warnings are errors everywhere in our own code.
add_compile_options(-Wall -Wextra -Werror -Wformat=2 -Wno-missing-field-initializers)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  # g++ 12 false positives in libstdc++ headers (std::variant, std::string) under -O2 and -O3.
  add_compile_options($<$<COMPILE_LANGUAGE:CXX>:-Wno-restrict> $<$<COMPILE_LANGUAGE:CXX>:-Wno-stringop-overflow>
                      $<$<COMPILE_LANGUAGE:CXX>:-Wno-maybe-uninitialized>)
endif()

if(CLOUDCOOP_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
else()
  # A lean start-up: the sandbox launcher runs on every agent start, so keep the dynamic loader's work
  # to libc alone (see docs/adr/0002-dependencies.md).
  add_link_options(-static-libstdc++ -static-libgcc)
endif()
# Full RELRO: every symbol bound at start and the GOT read-only before main (a root supervisor should
# not keep writable function pointers); it also means no lazy binding (and no dynamic-loader pages
# faulting back in) in a long-idle supervisor.
add_link_options(-Wl,-z,relro,-z,now)
