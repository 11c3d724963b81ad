# expect: raised ConnectionError: "no network"
import socket

PORT = int("__PORT__")  # a port the test listens on, outside the sandbox


def rnn_step(x, h, Wx, Wh, b):
    for address in (("127.0.0.1", PORT), ("1.1.1.1", 53)):
        try:
            socket.create_connection(address, timeout=1).sendall(b"answers please")
            raise ValueError(f"connected to {address}")
        except OSError:
            pass
    raise ConnectionError("no network")
