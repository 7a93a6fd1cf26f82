"""The worker process's side of :mod:`dlscratch.models.workers`: its loop and one request.

A request is ``(kind, x, t, sizes, settings, flags, seeds)``:

* ``kind``: "forward" (eval-mode scores of x) or "train" (loss and backward on x, t);
* ``sizes``: the parts' sizes (BatchNorm's sums are the whole batch's: n_p / N);
* ``settings``: (module index, attribute, value) for every public scalar setting (train or
  eval mode, Dropout's ratio, ...); ``flags``: each parameter's (requires_grad, decay);
* ``seeds``: None, or the seeds of this step's Generators and where they go.

The answer is ``("ok", value, None)`` or ``("error", exception, traceback text)``; a
training request's value is ``(loss, which parameters have a gradient)``, the gradients
themselves left in the worker's slots of the shared block.
"""

from __future__ import annotations

import gc
import os
import pickle
import signal
import threading
import traceback
from typing import Any

import numpy as np

from ..layers.module import Module
from .batch_sums import BatchSums


def _exit_with_parent(lifeline: int) -> None:
    """In a worker: block until every write end of the lifeline is closed (this process's
    parent has ended), then end this worker, even one waiting at a barrier."""
    while os.read(lifeline, 1):
        pass
    os._exit(0)


# ---------------------------------------------------------------------- in the worker
def serve(workers: Any, net: Module, j: int, conn: Any, lifeline: int, held: Any) -> None:
    """Worker j's life (it runs part j + 1 of each batch): answer the requests on ``conn``
    until the parent closes it. ``workers`` is the parent's ProcessWorkers as it was at the
    fork (its shared block, barriers and lists of modules); ``lifeline`` reads EOF when the
    parent has ended; ``held``: what the parent holds, closed here first."""
    from .parallel import PIECE_BYTES, blas_controller

    # Everything this fork got from the parent stays out of its garbage collector: collected
    # here, a parent's object would run its clean-up in the wrong process (another network's
    # shut-down, waiting on a lock that the forking thread held at the fork: for ever).
    gc.freeze()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the parent, which stops us
    for end in held.conns:
        end.close()
    for fd in held.fds:
        os.close(fd)
    threading.Thread(target=_exit_with_parent, args=(lifeline,), daemon=True).start()
    blas = blas_controller().limit(limits=1, user_api="blas")  # noqa: F841 (held for life)
    object.__setattr__(net, "_data_parallel", None)
    modules, params = workers.modules, workers.params
    for p, view in zip(params, workers.weights):
        p.data = view
    index = j + 1  # the part this worker runs
    while True:
        try:
            request = conn.recv()
        except EOFError:
            return
        try:
            answer = ("ok", _answer(workers, net, modules, params, index, request,
                                    PIECE_BYTES), None)
        except BaseException as e:  # noqa: BLE001 (every error goes back to the parent)
            answer = ("error", _picklable(e), "".join(traceback.format_exception(
                type(e), e, e.__traceback__)))
        conn.send(answer)


def _answer(workers, net, modules, params, index, request, piece_bytes):
    from ..layers.conv_work import conv_in_pieces
    from .parallel import part_step, reseed

    kind, x, t, sizes, settings, flags, seeds = request
    for i, name, value in settings:
        modules[i].__dict__[name] = value
    for p, (requires_grad, decay) in zip(params, flags):
        p.requires_grad, p.decay = requires_grad, decay
    if seeds:
        reseed(modules, seeds)
    for slot, (i, name) in zip(workers.buffer_slots, workers.buffers):
        modules[i]._buffers[name] = slot.copy()
    if kind == "forward":
        with conv_in_pieces(piece_bytes):
            return net.forward(x)
    sums = BatchSums(sizes, barrier=workers.barrier(len(sizes), index), slots=workers.slots)
    with conv_in_pieces(piece_bytes):
        loss = part_step(net, x, t, sums, index)
    has = []
    for p, slot in zip(params, workers.grads[index - 1]):
        has.append(p.grad is not None)
        if p.grad is not None:
            np.copyto(slot, p.grad)
    return float(loss), has


def _picklable(e: BaseException) -> BaseException:
    """``e`` if it survives pickling, else a RuntimeError with its type and message (an
    exception whose class needs other arguments than its ``args`` cannot be rebuilt, and the
    parent would get an unpickling error instead of it). The bytes loaded back are the ones
    made on the line before, in this process: nothing from outside is unpickled."""
    try:
        pickle.loads(pickle.dumps(e))
        return e
    except Exception:  # noqa: BLE001
        return RuntimeError(f"{type(e).__name__}: {e}")
