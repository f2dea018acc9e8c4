"""Export speed for the catalogue: one frame's preparation (checked arrays, hashes, residue-free
alpha, decontaminated crop, backdrop colour) is shared by all its profiles, never by another frame."""

from __future__ import annotations

import numpy as np

from packshot.export.compliance.fixer import fix_for_profile


def test_profiles_of_one_frame_share_its_preparation_but_a_changed_frame_is_prepared_again():
    from packshot.export import fixer as fixer_mod
    from packshot.samples import make_product

    s = make_product("jar", seed=4, size=(320, 320), backdrop="white")
    rgb, alpha = s.image.copy(), s.mask.copy()
    fixer_mod.release_prepared()
    a = fix_for_profile(rgb, alpha, "amazon-main", upscaler=None)
    prep = fixer_mod._PREPARED[0]
    b = fix_for_profile(rgb, alpha, "google-shopping", upscaler=None)
    assert fixer_mod._PREPARED[0] is prep  # shared, not recomputed
    fresh = fix_for_profile(rgb.copy(), alpha.copy(), "google-shopping", upscaler=None)
    assert np.array_equal(fresh.rgb, b.rgb)  # sharing does not change the result
    rgb[:] = rgb[:, ::-1]  # the same array, changed in place
    alpha[:] = alpha[:, ::-1]
    flipped = fix_for_profile(rgb, alpha, "amazon-main", upscaler=None)
    assert fixer_mod._PREPARED[0] is not prep
    assert not np.array_equal(flipped.rgb, a.rgb)
