#!/usr/bin/env python3
"""A stand-in for systemd's notify socket: binds an AF_UNIX datagram socket
at PATH and appends every datagram it receives to LOG, one line each, with
the datagram's own newlines shown as '|'. Runs until killed.

Usage: notify_socket.py PATH LOG
"""
import socket
import sys

path, log = sys.argv[1], sys.argv[2]
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind(path)
with open(log, "a", buffering=1) as out:
    print("listening", file=out)
    while True:
        data = sock.recv(65536)
        out.write(data.decode("utf-8", "replace").replace("\n", "|") + "\n")
