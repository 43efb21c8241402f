#!/usr/bin/python3
"""pty_relay.py FIFO -- CMD [ARGS...]: runs CMD on a pseudo-terminal of its own, as if typed
at: what it prints is copied to our stdout, what is written into FIFO (a named pipe) becomes
its input. SIGINT and SIGTERM are passed on to it; we exit with its exit status (128+N if a
signal N ended it). tests/interop/tap/console.sh drives ustcp-server's console through it."""
import os
import pty
import select
import signal
import sys


def main() -> int:
    if len(sys.argv) < 4 or sys.argv[2] != "--":
        print("usage: pty_relay.py FIFO -- CMD [ARGS...]", file=sys.stderr)
        return 2
    fifo, cmd = sys.argv[1], sys.argv[3:]
    pid, master = pty.fork()
    if pid == 0:
        os.execvp(cmd[0], cmd)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda s, _f: os.kill(pid, s))
    # Read-write, so that the pipe never reads end-of-file between two writers.
    fin = os.open(fifo, os.O_RDWR | os.O_NONBLOCK)
    out = sys.stdout.buffer
    while True:
        try:
            ready, _, _ = select.select([master, fin], [], [])
        except InterruptedError:
            continue
        if master in ready:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal (it exited)
                data = b""
            if not data:
                break
            out.write(data)
            out.flush()
        if fin in ready:
            data = os.read(fin, 65536)
            if data:
                os.write(master, data)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


if __name__ == "__main__":
    sys.exit(main())
