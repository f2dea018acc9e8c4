"""Speed helpers of QA and the catalogue workers (issue 12): they must never change a result."""

from __future__ import annotations

import numpy as np

from packshot.provenance import sha256_array
from packshot.qa import frozen_digest


def test_frozen_digest_memoises_only_arrays_that_cannot_change():
    a = np.arange(12, dtype=np.float32).reshape(4, 3)
    assert frozen_digest(a) == sha256_array(a)
    a[0, 0] = 99.0  # writeable: hashed again, never a stale digest
    assert frozen_digest(a) == sha256_array(a)
    frozen = a.copy()
    frozen.setflags(write=False)
    first = frozen_digest(frozen)
    assert first == sha256_array(frozen) and frozen_digest(frozen) == first
    view = frozen[:2]  # a view (of someone's data) is never memoised
    assert frozen_digest(view) == sha256_array(view)
    other = frozen.copy() + 1
    other.setflags(write=False)
    assert frozen_digest(other) == sha256_array(other) != first


def test_blas_threads_set_and_restored():
    from packshot.catalogue.work import blas_threads, restore_blas_threads

    before = blas_threads()
    changed = blas_threads(1)
    try:
        assert changed == before
        assert all(n == 1 for n in blas_threads())
        x = np.random.default_rng(0).random((1000, 3)).astype(np.float32)
        np.testing.assert_array_equal(x @ np.eye(3, dtype=np.float32), x)
    finally:
        restore_blas_threads(changed)
    assert blas_threads() == before
