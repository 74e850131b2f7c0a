"""Run a function in a forked child process and take back its result.

For work that needs a large library only now and then: the group network picture needs
networkx and numpy (~26 MB, a fifth of a web worker), yet is drawn only when a group's ties
change. Drawn in a child, the worker never loads them; the child starts from a copy of the
worker (no new interpreter, nothing imported again but the library) and exits when done.
"""

import os
import pickle
import sys
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def in_child(work: Callable[[], T], *, needs: str) -> T:
    """`work()`, computed in a forked child and sent back pickled (the result must pickle
    without the `needs` module, or unpickling would load it here after all).

    Runs here instead when `needs` is loaded already (nothing to keep out), where there is no
    fork, or when the child fails: the caller gets the result, or the exception, either way.
    """
    if needs in sys.modules or not hasattr(os, "fork"):
        return work()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns, never runs the parent's clean-up
        status = 1
        try:
            os.close(read_end)
            with os.fdopen(write_end, "wb") as pipe:
                pickle.dump(work(), pipe, protocol=pickle.HIGHEST_PROTOCOL)
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        sent = pipe.read()
    _, status = os.waitpid(pid, 0)
    if status != 0 or not sent:
        return work()  # the same work here, so an error is raised where it can be seen
    return pickle.loads(sent)  # noqa: S301 (our own child's bytes, through our own pipe)
