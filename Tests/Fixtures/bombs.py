#!/usr/bin/env python3
"""Hostile archives for kbuild's memory-bound tests, streamed (never held or stored uncompressed).

usage: bombs.py entries COUNT OUT      a .tar.gz of COUNT empty files named bomb/NNNNNNN
       bombs.py nested SIZE OUT        a .tar.gz holding kubernetes/server/bin/kube-proxy.tar of SIZE
                                       zero bytes (a nested image far larger than any real one)
"""
import gzip
import io
import sys
import tarfile


class Zeros(io.RawIOBase):
    def __init__(self, size):
        self.left = size

    def readable(self):
        return True

    def readinto(self, buffer):
        n = min(len(buffer), self.left)
        buffer[:n] = bytes(n)
        self.left -= n
        return n


def main():
    kind, amount, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    with gzip.open(out, "wb", compresslevel=1) as stream:
        with tarfile.open(fileobj=stream, mode="w|", format=tarfile.GNU_FORMAT) as tar:
            if kind == "entries":
                for index in range(amount):
                    info = tarfile.TarInfo("bomb/%07d" % index)
                    tar.addfile(info)
            else:
                info = tarfile.TarInfo("kubernetes/server/bin/kube-proxy.tar")
                info.size = amount
                tar.addfile(info, io.BufferedReader(Zeros(amount), 1 << 20))


main()
