"""Transactions through pyxs: isolation, commit, rollback and a conflict (commit returns False on EAGAIN)."""
import sys

from common import client, show

base = sys.argv[1].encode()
c1 = client()
c2 = client()
c1.write(base + b"/a", b"0")

t = c1.transaction()
show("first id positive", t > 0)
c1.write(base + b"/a", b"1")
c1.write(base + b"/new", b"n")
show("own write visible", c1.read(base + b"/a"))
show("others see old", c2.read(base + b"/a"))
show("others miss new", c2.exists(base + b"/new"))
show("commit", c1.commit())
show("after commit", (c2.read(base + b"/a"), c2.read(base + b"/new")))

c1.transaction()
c1.write(base + b"/a", b"2")
c1.rollback()
show("after rollback", c2.read(base + b"/a"))

# c1 reads a node inside its transaction, c2 changes it: the commit must fail.
c1.transaction()
c1.read(base + b"/a")
c1.write(base + b"/b", b"from tx")
c2.write(base + b"/a", b"3")
show("conflicting commit", c1.commit())
show("conflict discarded", c2.exists(base + b"/b"))
show("outside write kept", c2.read(base + b"/a"))
c1.close()
c2.close()
