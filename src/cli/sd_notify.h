// The systemd notification protocol (sd_notify(3)), without libsystemd: a
// service of Type=notify tells systemd it is ready ("READY=1"), what it is
// doing ("STATUS=..."), that it reloads or stops, by one datagram to the
// AF_UNIX socket named in $NOTIFY_SOCKET (a path, or "@name" for the
// abstract namespace). The protocol is small and stable (systemd documents
// it as such), which is why vodfs speaks it itself rather than depend on
// libsystemd.
//
// Thread-safety: Notify may be called from any thread.
#pragma once

#include <string>
#include <string_view>

#include "vodfs/util/result.h"

namespace vodfs::cli {

// Sends `state` ("READY=1\nSTATUS=mounted", newline-separated assignments)
// to the socket `notify_socket` names. An empty `notify_socket` (not run by
// systemd, or not as Type=notify) is not an error: nothing is sent.
Status NotifyTo(const std::string& notify_socket, std::string_view state);

// NotifyTo($NOTIFY_SOCKET, state).
Status Notify(std::string_view state);

}  // namespace vodfs::cli
