# Debian packages with CPack: `cpack --config build/CPackConfig.cmake` (or
# `ninja -C build package`) makes two .deb files:
#   vodfs           /usr/bin/vodfs, /sbin/mount.vodfs, /etc/vodfs.conf (0600),
#                   vodfs@.service, man pages, bash completion, docs
#   vodfs-emulator  /usr/bin/vodfs-emulator, its man page and docs: a test
#                   tool, kept off hosts that only mount
# Binaries are stripped (CPACK_STRIP_FILES): the debug info of a
# RelWithDebInfo build is most of a binary's size.
set(CPACK_GENERATOR "DEB")
set(CPACK_PACKAGE_NAME "vodfs")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "vodfs maintainers <vodfs@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "ApsaraVideo VOD media library as a read-only drive (FUSE)")
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")
set(CPACK_STRIP_FILES ON)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL vodfs vodfs-emulator)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION "utils")
set(CPACK_DEBIAN_PACKAGE_PRIORITY "optional")

# Dependencies by name and the versions CMakeLists.txt asks for (what the
# code needs), Debian 12's names; libssl3 or the 1.1 of older releases.
set(CPACK_DEBIAN_VODFS_PACKAGE_NAME "vodfs")
set(CPACK_DEBIAN_VODFS_PACKAGE_DEPENDS
    "fuse3, libfuse3-3 (>= 3.12), libcurl4 (>= 7.85), libssl3 | libssl1.1, libsqlite3-0 (>= 3.35), ca-certificates")
set(CPACK_DEBIAN_VODFS_PACKAGE_SUGGESTS "vodfs-emulator")
set(CPACK_DEBIAN_VODFS_DESCRIPTION
    "ApsaraVideo VOD media library as a read-only drive (FUSE)\n vodfs mounts the media library of an Alibaba Cloud ApsaraVideo VOD account as a\n read-only file system, with a block cache, a persistent library index, and\n signed URLs renewed behind the reader's back.")
set(CPACK_COMPONENT_VODFS_DESCRIPTION "${CPACK_DEBIAN_VODFS_DESCRIPTION}")
# /etc/vodfs.conf is the administrator's: dpkg keeps their edits on upgrade.
file(WRITE ${CMAKE_BINARY_DIR}/debian/conffiles "/etc/vodfs.conf\n")
set(CPACK_DEBIAN_VODFS_PACKAGE_CONTROL_EXTRA ${CMAKE_BINARY_DIR}/debian/conffiles)

set(CPACK_DEBIAN_VODFS-EMULATOR_PACKAGE_NAME "vodfs-emulator")
set(CPACK_DEBIAN_VODFS-EMULATOR_PACKAGE_DEPENDS "libcurl4 (>= 7.85), libssl3 | libssl1.1")
set(CPACK_COMPONENT_VODFS-EMULATOR_DESCRIPTION
    "Stand-in for the ApsaraVideo VOD API, OSS and CDN, for testing vodfs\n The emulator serves the VOD API with real request signatures, OSS and CDN\n origins with signed, expiring URLs, and fault injection, on loopback.")

include(CPack)
