"""``SharedMemoryText``: a ``gymnasium.spaces.Text`` whose observations ``AsyncVectorEnv`` can pass in shared memory.

Gymnasium 1.4's shared memory for ``Text`` is broken (see ``docs/gymnasium-text-shared-memory.md``):
``read_from_shared_memory`` decodes the buffer once, when ``AsyncVectorEnv`` is built, into a tuple of strings that
never changes, so with the default ``shared_memory=True`` every observation is ``max_length`` copies of the charset's
first character. This subclass registers its own shared-memory functions: the buffer holds each observation's
Unicode code points and its length, and the read side is a live view, decoded whenever it is read, like the numpy
view Gymnasium returns for a ``Box``. ``AsyncVectorEnv`` (with its default ``copy=True``) deep-copies that view into a
plain tuple of strings, exactly what ``SyncVectorEnv`` returns.
"""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Sequence
from types import ModuleType
from typing import Any

import numpy as np
from gymnasium import spaces
from gymnasium.vector.utils import create_shared_memory, read_from_shared_memory, write_to_shared_memory


class SharedMemoryText(spaces.Text):
    """``spaces.Text`` with working ``AsyncVectorEnv`` shared memory; otherwise the same space."""


class SharedTextView(Sequence):
    """The observations of ``n`` environments, decoded from shared memory on each read (a live view)."""

    def __init__(self, lengths, code_points, n: int, max_length: int) -> None:
        self._lengths = np.frombuffer(lengths.get_obj(), dtype=np.int64)
        self._code_points = np.frombuffer(code_points.get_obj(), dtype=np.int32).reshape(n, max_length)

    def __len__(self) -> int:
        return len(self._lengths)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return tuple(self[i] for i in range(*index.indices(len(self))))
        return self._code_points[index, : self._lengths[index]].tobytes().decode("utf-32-le")

    def __eq__(self, other: object) -> bool:
        return tuple(self) == other if isinstance(other, (tuple, SharedTextView)) else NotImplemented

    def __repr__(self) -> str:
        return f"SharedTextView({tuple(self)!r})"

    def __deepcopy__(self, memo: dict) -> tuple[str, ...]:
        return tuple(self)


@create_shared_memory.register(SharedMemoryText)
def _create(space: SharedMemoryText, n: int = 1, ctx: ModuleType = mp) -> tuple[Any, Any]:
    return ctx.Array(np.dtype(np.int64).char, n), ctx.Array(np.dtype(np.int32).char, n * space.max_length)


@read_from_shared_memory.register(SharedMemoryText)
def _read(space: SharedMemoryText, shared_memory: tuple[Any, Any], n: int = 1) -> SharedTextView:
    return SharedTextView(*shared_memory, n=n, max_length=space.max_length)


@write_to_shared_memory.register(SharedMemoryText)
def _write(space: SharedMemoryText, index: int, value: str, shared_memory: tuple[Any, Any]) -> None:
    if len(value) > space.max_length:
        raise ValueError(f"an observation of {len(value)} characters does not fit the space's max_length {space.max_length}")
    lengths, code_points = shared_memory
    encoded = np.frombuffer(value.encode("utf-32-le"), dtype=np.int32)
    destination = np.frombuffer(code_points.get_obj(), dtype=np.int32)
    start = index * space.max_length
    destination[start: start + len(encoded)] = encoded
    np.frombuffer(lengths.get_obj(), dtype=np.int64)[index] = len(encoded)
