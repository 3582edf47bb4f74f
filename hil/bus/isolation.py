"""Keep bench traffic on this machine: a private network namespace with only loopback.

python-can's ``udp_multicast`` sends to a multicast group on the route the kernel picks for
it, by default the machine's external interface, with ``hop_limit`` (IPv4 TTL) 1: every
frame then leaves the machine. Two defences, used together by the tests and benchmarks:

1. ``hop_limit: 0`` on the rig (rigs/udp.yaml): the kernel still loops each datagram back
   to listeners on this host but sends nothing onto a wire (only IGMP membership reports).
2. :func:`enter_private_network` moves the calling process (and the processes it starts
   afterwards, e.g. ``hil ecu``) into a fresh network namespace whose only interface is
   ``lo``, with multicast enabled and ``224.0.0.0/4`` routed there. Nothing can leave a
   namespace that has no other interface. It needs root (CAP_SYS_ADMIN) and iproute2;
   where either is missing it returns the reason and the caller relies on (1).

Call it before any socket is opened and before starting threads that open sockets: a
network namespace is a property of the calling thread, inherited by threads and
processes started later.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import shutil
import socket
import subprocess
import sys

CLONE_NEWNET = 0x40000000

#: Set once this process is inside a namespace made by :func:`enter_private_network`.
_entered: str | None = None


def interfaces() -> list[str]:
    """Names of the network interfaces this process can see."""
    return [name for _, name in socket.if_nameindex()]


def enter_private_network() -> tuple[bool, str]:
    """Enter a private network namespace with only ``lo`` (multicast on, 224/4 routed).

    Returns ``(True, description)`` when this process is now (or already was) isolated,
    ``(False, reason)`` when it could not be, in which case nothing changed.
    """
    global _entered
    if _entered is not None:
        return True, _entered
    if not sys.platform.startswith("linux"):
        return False, f"network namespaces are Linux-only (this is {sys.platform})"
    if os.geteuid() != 0:
        return False, "entering a network namespace needs root (CAP_SYS_ADMIN)"
    ip = shutil.which("ip") or next((p for p in ("/usr/sbin/ip", "/sbin/ip")
                                     if os.path.exists(p)), None)
    if ip is None:
        return False, "iproute2's 'ip' command is not installed"
    libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
    if libc.unshare(CLONE_NEWNET) != 0:
        return False, f"unshare(CLONE_NEWNET) failed: {os.strerror(ctypes.get_errno())}"
    for args in (("link", "set", "lo", "up"), ("link", "set", "lo", "multicast", "on"),
                 ("route", "add", "224.0.0.0/4", "dev", "lo")):
        done = subprocess.run([ip, *args], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            # We are inside an empty namespace already: nothing can leave it, but multicast
            # may not work on lo. Say so instead of pretending.
            _entered = f"private network namespace (ip {' '.join(args)}: {done.stderr.strip()})"
            return True, _entered
    _entered = "private network namespace with only lo (multicast routed on lo)"
    return True, _entered


def isolated() -> bool:
    """True when the only interface this process sees is the loopback."""
    return interfaces() == ["lo"]
