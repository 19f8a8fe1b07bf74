"""Shared by the pyxs scenarios: connect to XENSTORED_PATH and print results one per line."""
import os
import sys

import pyxs


def client():
    c = pyxs.Client(unix_socket_path=os.environ["XENSTORED_PATH"])
    c.connect()
    return c


def show(label, value):
    print(f"{label}: {value!r}")
    sys.stdout.flush()


def error_of(fn):
    """Runs fn and returns the errno of the PyXSError it raised, or 'ok'."""
    try:
        fn()
    except pyxs.PyXSError as e:
        return e.args[0]
    return "ok"
