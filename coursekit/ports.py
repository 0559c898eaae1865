"""Ports on loopback: pick a free one, see whether one answers, and find who listens on it."""
import os
import socket
import sys

import psutil

HOST = "127.0.0.1"


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on right now, picked by the OS."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def port_is_listening(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.2):
            return True
    except OSError:
        return False


def port_in_use(log: str) -> bool:
    """Does a server's log say its port was taken? (Each server words it its own way.)"""
    log = log.lower()
    return any(words in log for words in ("address already in use", "port is already in use",
                                          "connection in use"))


def listening_sockets(pids: list[int]) -> set[tuple[str, int]]:
    """(address, port) of every TCP socket these processes listen on. On Linux, the sockets are
    asked of the kernel the way `ss -l` does: psutil reads every connection of the machine, which
    takes tens of milliseconds on a busy one."""
    if not sys.platform.startswith("linux"):
        return {(c.laddr.ip, c.laddr.port) for pid in pids for c in _listening(psutil.Process(pid))}
    inodes = set()
    for pid in pids:
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
                if link.startswith("socket:["):
                    inodes.add(int(link[8:-1]))
        except OSError:
            pass
    if not inodes:
        return set()
    try:
        return {(ip, port) for ip, port, inode in _kernel_listeners() if inode in inodes}
    except OSError:  # no sock_diag here: the slow way
        return {(c.laddr.ip, c.laddr.port) for pid in pids for c in _listening(psutil.Process(pid))}


def _kernel_listeners():
    """(address, port, inode) of every listening TCP socket, from Linux's sock_diag netlink."""
    import struct

    found = []
    with socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, 4) as link:  # NETLINK_SOCK_DIAG
        link.settimeout(1)
        for family in (socket.AF_INET, socket.AF_INET6):
            # inet_diag_req_v2: family, protocol, extensions, pad, states (LISTEN), a zeroed socket id
            request = struct.pack("=BBBBI", family, socket.IPPROTO_TCP, 0, 0, 1 << 10) + bytes(48)
            # nlmsghdr: length, SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST | NLM_F_DUMP, sequence, port id
            link.send(struct.pack("=IHHII", 16 + len(request), 20, 0x301, 1, 0) + request)
            done = False
            while not done:
                data, offset = link.recv(65536), 0
                while offset + 16 <= len(data):
                    length, kind = struct.unpack_from("=IH", data, offset)
                    if kind in (2, 3):  # NLMSG_ERROR, NLMSG_DONE
                        done = True
                        break
                    # inet_diag_msg: family, state, timer, retrans, then the socket id
                    # (sport, dport, src[16], dst[16], if, cookie[8]), then 5 u32 ending in the inode
                    body = offset + 16
                    port = struct.unpack_from("!H", data, body + 4)[0]
                    raw = data[body + 8: body + 8 + (4 if family == socket.AF_INET else 16)]
                    inode = struct.unpack_from("=I", data, body + 68)[0]
                    found.append((socket.inet_ntop(family, raw), port, inode))
                    offset += (length + 3) & ~3
    return found


def _listening(proc):
    try:
        return [c for c in proc.net_connections("tcp") if c.status == psutil.CONN_LISTEN]
    except psutil.Error:
        return []


def listening_ports(pid: int) -> set[int]:
    """Ports that a process or any of its children listen on."""
    try:
        family = [pid, *(c.pid for c in psutil.Process(pid).children(recursive=True))]
    except psutil.NoSuchProcess:
        return set()
    return {port for _, port in listening_sockets(family)}


def who_listens(port: int) -> str:
    """Who listens on `port` (a few words), or '' if nothing answers there."""
    if not port_is_listening(port):
        return ""
    try:
        for conn in psutil.net_connections("tcp"):
            if conn.laddr.port == port and conn.status == psutil.CONN_LISTEN and conn.pid:
                return f"pid {conn.pid} ({' '.join(psutil.Process(conn.pid).cmdline())[:80]})"
    except psutil.Error:
        pass
    return "a process this account cannot see"
