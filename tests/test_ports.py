"""coursekit/ports.py: which sockets a process listens on, and on which address."""
import os
import socket

from coursekit.ports import listening_ports, listening_sockets, port_is_listening, who_listens


def test_listening_sockets_name_loopback_and_every_address_apart():
    with socket.create_server(("127.0.0.1", 0)) as loopback, \
            socket.create_server(("0.0.0.0", 0)) as everywhere, \
            socket.create_server(("::", 0), family=socket.AF_INET6) as everywhere6, \
            socket.create_connection(loopback.getsockname()):  # a connection is not a listener
        found = listening_sockets([os.getpid()])
        assert ("127.0.0.1", loopback.getsockname()[1]) in found
        assert ("0.0.0.0", everywhere.getsockname()[1]) in found
        assert ("::", everywhere6.getsockname()[1]) in found
        assert all(port in listening_ports(os.getpid()) for port in
                   (loopback.getsockname()[1], everywhere.getsockname()[1]))
        port = loopback.getsockname()[1]
        assert port_is_listening(port) and f"pid {os.getpid()}" in who_listens(port)
    assert not port_is_listening(port) and who_listens(port) == ""
