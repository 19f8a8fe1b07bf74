"""Watches through pyxs: initial event, own and other connections' changes, subtree removal, unwatch."""
import sys

from common import client, show

base = sys.argv[1].encode()
c = client()
other = client()
c.write(base + b"/x/y", b"1")
m = c.monitor()


def next_event():
    # A generous timeout: a missing event fails the script instead of hanging it.
    return m.events.get(timeout=10)


m.watch(base, b"tok")
show("initial", next_event())
other.write(base + b"/x/y", b"2")
show("write", next_event())
c.write(base + b"/z", b"3")
show("own write", next_event())
m.watch(base + b"/x/y", b"deep")
show("initial deep", next_event())
other.delete(base + b"/x")
# C xenstored: the removed descendant's exact watch first, then the removed node.
show("rm 1", next_event())
show("rm 2", next_event())
m.unwatch(base, b"tok")
m.unwatch(base + b"/x/y", b"deep")
other.write(base + b"/after", b"4")
m.watch(base + b"/sync", b"sync")
show("after unwatch, next is", next_event())
c.close()
other.close()
