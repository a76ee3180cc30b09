# Install rules and the Debian package, laid out like Debian's own
# libnginx-mod-* packages (what dh_nginx produces):
#   <prefix>/lib/nginx/modules/ngx_http_presence_module.so
#   <prefix>/share/nginx/modules-available/mod-http-presence.conf  (load_module)
#   <prefix>/share/nginx-presence/dashboard/, <prefix>/share/nginx-presence/monitoring/
#   <prefix>/bin/presence-token, <prefix>/share/man/man1/presence-token.1.gz
#   <prefix>/share/doc/libnginx-mod-http-presence/  (copyright, changelog, docs, examples/)
# The .deb's maintainer scripts (packaging/postinst, prerm, postrm) keep the
# /etc/nginx/modules-enabled/50-mod-http-presence.conf link as Debian's do;
# `cmake --install` leaves /etc alone (the README says how to enable).
#
#   cmake --build build && cmake --install build --prefix /usr/local
#   cmake --build build && cpack --config build/CPackConfig.cmake -B build/package
#
# Both package what was built: install does not rebuild the whole tree (tests
# and benchmarks have nothing to install).
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)
set(CMAKE_INSTALL_DEFAULT_DIRECTORY_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ
    GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)

set(PRESENCE_PACKAGE libnginx-mod-http-presence)
set(PRESENCE_PACKAGING_DIR ${CMAKE_SOURCE_DIR}/packaging)
set(PRESENCE_PACKAGING_OUT ${CMAKE_BINARY_DIR}/packaging)
set(PRESENCE_DOC_DIR share/doc/${PRESENCE_PACKAGE})
file(MAKE_DIRECTORY ${PRESENCE_PACKAGING_OUT})

# The Debian version comes from packaging/changelog, whose newest entry must be
# for this project version (lintian compares the two).
file(STRINGS ${PRESENCE_PACKAGING_DIR}/changelog presence_changelog_head LIMIT_COUNT 1)
if(NOT presence_changelog_head MATCHES "^${PRESENCE_PACKAGE} \\(([^-)]+)-([^)]+)\\)")
  message(FATAL_ERROR "packaging/changelog: the first line must read "
                      "'${PRESENCE_PACKAGE} (<version>-<revision>) ...'")
endif()
if(NOT CMAKE_MATCH_1 STREQUAL PROJECT_VERSION)
  message(FATAL_ERROR "packaging/changelog's newest entry is for ${CMAKE_MATCH_1}, the project "
                      "is ${PROJECT_VERSION}: add an entry for ${PROJECT_VERSION}-1")
endif()
set(PRESENCE_DEBIAN_REVISION ${CMAKE_MATCH_2})

# Debian wants changelogs and manual pages compressed, without a timestamp.
foreach(pair "changelog:changelog.Debian.gz" "presence-token.1:presence-token.1.gz")
  string(REPLACE ":" ";" pair "${pair}")
  list(GET pair 0 from)
  list(GET pair 1 to)
  execute_process(COMMAND gzip -9nc ${PRESENCE_PACKAGING_DIR}/${from}
                  OUTPUT_FILE ${PRESENCE_PACKAGING_OUT}/${to} RESULT_VARIABLE gzip_result)
  if(NOT gzip_result EQUAL 0)
    message(FATAL_ERROR "gzip ${from} failed")
  endif()
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${PRESENCE_PACKAGING_DIR}/${from})
endforeach()

install(TARGETS ngx_http_presence_module LIBRARY DESTINATION lib/nginx/modules)
install(TARGETS presence-token RUNTIME DESTINATION bin)
install(FILES ${PRESENCE_PACKAGING_OUT}/presence-token.1.gz DESTINATION share/man/man1)

# The load_module snippet names the .so where it was installed; under /usr it
# is written as Debian's are, relative to nginx's prefix (/usr/share/nginx,
# whose modules/ links to /usr/lib/nginx/modules).
install(CODE "set(presence_packaging_out \"${PRESENCE_PACKAGING_OUT}\")")
install(CODE [[
  set(presence_so "${CMAKE_INSTALL_PREFIX}/lib/nginx/modules/ngx_http_presence_module.so")
  if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
    set(presence_so "modules/ngx_http_presence_module.so")
  endif()
  file(WRITE "${presence_packaging_out}/mod-http-presence.conf"
       "load_module ${presence_so};\n")
  file(INSTALL "${presence_packaging_out}/mod-http-presence.conf"
       DESTINATION "${CMAKE_INSTALL_PREFIX}/share/nginx/modules-available")
]])

if(TARGET dashboard)
  install(DIRECTORY ${CMAKE_BINARY_DIR}/dashboard/ DESTINATION share/nginx-presence/dashboard)
endif()
install(FILES ${CMAKE_SOURCE_DIR}/monitoring/alerts.yml
              ${CMAKE_SOURCE_DIR}/monitoring/grafana-dashboard.json
        DESTINATION share/nginx-presence/monitoring)

install(FILES ${PRESENCE_PACKAGING_DIR}/copyright ${PRESENCE_PACKAGING_OUT}/changelog.Debian.gz
              ${CMAKE_SOURCE_DIR}/README.md ${CMAKE_SOURCE_DIR}/BENCHMARKS.md
        DESTINATION ${PRESENCE_DOC_DIR})
install(DIRECTORY ${CMAKE_SOURCE_DIR}/docs/ DESTINATION ${PRESENCE_DOC_DIR}
        FILES_MATCHING PATTERN "*.md")
install(FILES ${PRESENCE_PACKAGING_DIR}/presence.conf ${CMAKE_SOURCE_DIR}/nginx.conf.example
        DESTINATION ${PRESENCE_DOC_DIR}/examples)
install(FILES ${PRESENCE_PACKAGING_DIR}/lintian-overrides DESTINATION share/lintian/overrides
        RENAME ${PRESENCE_PACKAGE})

# The nginx ABI the module was compiled for, so that apt refuses a mismatched
# nginx: what dh_nginx reads (the abisubstvars of the nginx-dev tree the
# headers came from), else what the installed nginx package Provides.
set(PRESENCE_NGINX_ABI "" CACHE STRING
    "nginx ABI the .deb depends on, e.g. nginx-abi-1.22.1-7 (empty: found from nginx-dev, else the installed nginx)")
set(presence_nginx_abi "${PRESENCE_NGINX_ABI}")
if(DEFINED NGINX_SRC_DIR)
  set(presence_abi_file ${NGINX_SRC_DIR}/debian/libnginx-mod.abisubstvars)
else()
  set(presence_abi_file /usr/share/nginx/src/debian/libnginx-mod.abisubstvars)
endif()
if(NOT presence_nginx_abi AND EXISTS ${presence_abi_file})
  file(STRINGS ${presence_abi_file} presence_abi_line REGEX "^nginx:abi=")
  string(REGEX REPLACE "^nginx:abi=[ ]*" "" presence_nginx_abi "${presence_abi_line}")
endif()
find_program(DPKG_QUERY dpkg-query)
if(DPKG_QUERY)
  execute_process(COMMAND ${DPKG_QUERY} -W -f=\${Provides} nginx OUTPUT_VARIABLE presence_provides
                  ERROR_QUIET RESULT_VARIABLE presence_query_result)
  string(REGEX MATCH "nginx-abi-[^ ,]+" presence_installed_abi "${presence_provides}")
  if(NOT presence_nginx_abi)
    set(presence_nginx_abi "${presence_installed_abi}")
  elseif(presence_installed_abi AND NOT presence_installed_abi STREQUAL presence_nginx_abi)
    message(WARNING "packaging: the module is built for ${presence_nginx_abi} but the installed "
                    "nginx provides ${presence_installed_abi}: it will not install next to it")
  endif()
endif()

set(CPACK_PACKAGE_NAME ${PRESENCE_PACKAGE})
set(CPACK_PACKAGE_VENDOR "nginx-presence")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Live shopper presence for nginx over Phoenix Channels")
set(CPACK_PACKAGE_DESCRIPTION
    "An nginx module that tracks which shoppers of a web shop are online, on
which page and with what in their carts, in shared memory shared by nginx's
workers. Store pages connect with the stock Phoenix JavaScript client over
WebSockets that nginx terminates itself; JWTs are checked at the handshake.

The package also holds the live dashboard for the store's admins, the
presence-token tool, Prometheus alerting rules and a Grafana dashboard.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_INSTALL_PREFIX /usr)
# The install scripts see the final prefix (/usr) and stage through DESTDIR.
set(CPACK_SET_DESTDIR ON)
set(CPACK_STRIP_FILES ON)
set(CPACK_GENERATOR DEB)
set(CPACK_SOURCE_GENERATOR "")
set(CPACK_DEBIAN_PACKAGE_RELEASE ${PRESENCE_DEBIAN_REVISION})
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER
    "nginx-presence maintainers <maintainers@users.noreply.r-seed-44ac8807.example>")
set(CPACK_DEBIAN_PACKAGE_SECTION httpd)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# libsodium, libhiredis0.14 (the cluster's Redis link), libstdc++ and libc come
# from dpkg-shlibdeps.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "${presence_nginx_abi}")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS nginx)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${PRESENCE_PACKAGING_DIR}/postinst
    ${PRESENCE_PACKAGING_DIR}/prerm ${PRESENCE_PACKAGING_DIR}/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
if(NOT presence_nginx_abi)
  message(NOTICE "-- packaging: no nginx ABI found (no nginx-dev tree, no installed nginx package): "
                 "the .deb is built without the nginx-abi dependency; pass -DPRESENCE_NGINX_ABI=...")
endif()
include(CPack)
