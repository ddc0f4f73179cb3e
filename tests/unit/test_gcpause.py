"""The cyclic collector is paused for the block and restored as it was."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from autopatchelf.gcpause import cycle_collector_paused


@pytest.fixture(autouse=True)
def _collector_restored() -> Iterator[None]:
    enabled = gc.isenabled()
    yield
    if enabled:
        gc.enable()
    else:
        gc.disable()


@pytest.mark.parametrize("enabled", [True, False])
def test_paused_inside_and_restored_after(enabled: bool) -> None:
    if enabled:
        gc.enable()
    else:
        gc.disable()
    with cycle_collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled() is enabled


def test_restored_when_the_block_raises() -> None:
    gc.enable()
    with pytest.raises(KeyError), cycle_collector_paused():
        raise KeyError("x")
    assert gc.isenabled()


def test_nested_pauses_restore_the_outer_state() -> None:
    gc.enable()
    with cycle_collector_paused():
        with cycle_collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
