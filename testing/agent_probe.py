#!/usr/bin/env python3
"""Probes an agent runs inside its sandbox to try things it must not be able to do.

Each probe prints one line, `PROBE <label> <result>`, where result is `ok` (the action succeeded)
or the errno name (EACCES, EPERM, EROFS, ENOENT, ...). Tests and the demo read these lines; a
probe never retries and never loops, and network probes send at most one SYN with a short timeout.

  agent_probe.py read LABEL PATH            open PATH for reading and read a byte
  agent_probe.py write LABEL PATH           open PATH for writing (create or truncate) and write
  agent_probe.py append LABEL PATH          open an existing PATH for appending
  agent_probe.py mkdir LABEL PATH
  agent_probe.py rename LABEL FROM TO
  agent_probe.py symlink LABEL TARGET LINK
  agent_probe.py link LABEL FROM TO         hard link
  agent_probe.py signal LABEL PID           kill(PID, 0)
  agent_probe.py environ LABEL PID          read /proc/PID/environ
  agent_probe.py connect LABEL HOST PORT    one TCP connect, 2 s timeout
  agent_probe.py alloc LABEL MIB            allocate and touch MIB MiB (a memory limit kills it: no line)
  agent_probe.py fork LABEL N               start N sleeping children (ok), or the errno of the first
                                            failed fork; the children are killed before it returns
  agent_probe.py userns LABEL               unshare(CLONE_NEWUSER): a new user namespace, the first
                                            step of most container escapes (seccomp denies it)
"""
import ctypes
import errno
import os
import socket
import sys


def result(label, fn):
    try:
        fn()
        print(f"PROBE {label} ok", flush=True)
    except OSError as e:
        name = errno.errorcode.get(e.errno, str(e.errno)) if e.errno else type(e).__name__
        print(f"PROBE {label} {name}", flush=True)
    except socket.timeout:
        print(f"PROBE {label} ETIMEDOUT", flush=True)


def read(path):
    with open(path, "rb") as f:
        f.read(1)


def write(path):
    with open(path, "wb") as f:
        f.write(b"written by an agent probe\n")


def append(path):
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    try:
        os.write(fd, b"# appended by an agent probe\n")
    finally:
        os.close(fd)


def connect(host, port):
    s = socket.create_connection((host, int(port)), timeout=2)
    s.close()


def alloc(mib):
    b = bytearray(int(mib) << 20)
    for i in range(0, len(b), 4096):
        b[i] = 1


def fork(n):
    children = []
    try:
        for _ in range(int(n)):
            pid = os.fork()
            if pid == 0:
                try:
                    os.execvp("sleep", ["sleep", "60"])
                finally:
                    os._exit(127)
            children.append(pid)
    finally:
        for pid in children:
            os.kill(pid, 9)
        for pid in children:
            os.waitpid(pid, 0)


def userns():
    libc = ctypes.CDLL(None, use_errno=True)
    clone_newuser = 0x10000000
    if libc.unshare(clone_newuser) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


def main(argv):
    if len(argv) < 3:
        print(__doc__)
        return 2
    op, label, args = argv[1], argv[2], argv[3:]
    ops = {
        "read": lambda: read(args[0]),
        "write": lambda: write(args[0]),
        "append": lambda: append(args[0]),
        "mkdir": lambda: os.mkdir(args[0]),
        "rename": lambda: os.rename(args[0], args[1]),
        "symlink": lambda: os.symlink(args[0], args[1]),
        "link": lambda: os.link(args[0], args[1]),
        "signal": lambda: os.kill(int(args[0]), 0),
        "environ": lambda: read(f"/proc/{int(args[0])}/environ"),
        "connect": lambda: connect(args[0], args[1]),
        "alloc": lambda: alloc(args[0]),
        "fork": lambda: fork(args[0]),
        "userns": userns,
    }
    if op not in ops:
        print(f"unknown probe {op}", file=sys.stderr)
        return 2
    result(label, ops[op])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
