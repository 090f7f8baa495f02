"""A client process that uploads a body chunked (no Content-Length) as fast as the server takes
it, and stops when the server answers: prints JSON with the status, the seconds until the answer
and the bytes it sent. ``python chunked_client.py PORT PATH TOTAL_BYTES [KEY]``."""

from __future__ import annotations

import json
import select
import socket
import sys
import time

CHUNK = 64 * 1024


def upload(port: int, path: str, total: int, key: str | None) -> dict[str, object]:
    sock = socket.create_connection(("127.0.0.1", port))
    boundary = "visavisboundary"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; "
            f"filename=\"big.png\"\r\nContent-Type: image/png\r\n\r\n").encode()  # fmt: skip
    headers = [f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{port}",
               f"Content-Type: multipart/form-data; boundary={boundary}",
               "Transfer-Encoding: chunked"]  # fmt: skip
    if key:
        headers.append(f"X-API-Key: {key}")
    started = time.monotonic()
    sock.sendall(("\r\n".join(headers) + "\r\n\r\n").encode())
    sock.sendall(b"%x\r\n%s\r\n" % (len(head), head))
    sent, answer = len(head), b""
    frame = b"%x\r\n%s\r\n" % (CHUNK, b"\x00" * CHUNK)
    sock.setblocking(False)
    pending = memoryview(b"")
    while sent < total or pending:
        readable, writable, _ = select.select([sock], [sock], [], 5.0)
        if readable:
            break
        if not writable:
            continue
        if not pending:
            pending = memoryview(frame)
        try:
            n = sock.send(pending)
        except (BlockingIOError, InterruptedError):
            continue
        except (BrokenPipeError, ConnectionResetError):
            break
        sent += n
        pending = pending[n:]
    sock.setblocking(True)
    sock.settimeout(10)
    try:
        while b"\r\n\r\n" not in answer:
            data = sock.recv(65536)
            if not data:
                break
            answer += data
    except (ConnectionResetError, TimeoutError):
        pass
    elapsed = time.monotonic() - started
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else None
    sock.close()
    return {"status": status, "seconds": elapsed, "sent": sent, "head": answer[:300].decode()}


if __name__ == "__main__":
    port, path, total = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    print(json.dumps(upload(port, path, total, sys.argv[4] if len(sys.argv) > 4 else None)))
