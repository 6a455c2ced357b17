# vodfs_target_defaults(<target>): warnings, sanitizers and include paths for
# one of our own targets. Flags are applied per target, never globally, so
# third-party code (GoogleTest) is compiled with its own settings.
function(vodfs_target_defaults target)
  target_compile_features(${target} PUBLIC cxx_std_20)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wpedantic -Wold-style-cast -Wnon-virtual-dtor
    -Wsuggest-override -Wformat=2 -Wcast-align -Wpointer-arith
    -Wimplicit-fallthrough)
  if(CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    # The locks the compiler checks (util/mutex.h): every GUARDED_BY and
    # REQUIRES is proven at each use.
    target_compile_options(${target} PRIVATE -Wthread-safety -Wthread-safety-beta -Wshadow-uncaptured-local)
  else()
    target_compile_options(${target} PRIVATE -Wshadow=local)
  endif()
  if(VODFS_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
  set(san "")
  if(VODFS_ENABLE_ASAN)
    list(APPEND san address)
  endif()
  if(VODFS_ENABLE_UBSAN)
    list(APPEND san undefined)
  endif()
  if(VODFS_ENABLE_TSAN)
    list(APPEND san thread)
  endif()
  if(san)
    list(JOIN san "," san_list)
    target_compile_options(${target} PUBLIC -fsanitize=${san_list}
                           -fno-omit-frame-pointer -fno-sanitize-recover=all)
    target_link_options(${target} PUBLIC -fsanitize=${san_list})
    if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
      # GCC's flow analysis sees through the sanitizers' instrumentation
      # badly: -Wmaybe-uninitialized then fires inside libstdc++ (std::regex's
      # std::function members) on code that is fine. The optimised build
      # keeps the warning.
      target_compile_options(${target} PRIVATE -Wno-maybe-uninitialized)
    endif()
  endif()
endfunction()

# vodfs_library(<name> SOURCES ... DEPS ...): one module library.
function(vodfs_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  vodfs_target_defaults(${name})
  target_include_directories(${name} PUBLIC
    ${PROJECT_SOURCE_DIR}/include ${PROJECT_BINARY_DIR}/generated
    PRIVATE ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(${name} PUBLIC ${ARG_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
endfunction()
