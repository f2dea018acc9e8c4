"""Export speed for the catalogue: one frame's preparation (checked arrays, hashes, residue-free
alpha, decontaminated crop, backdrop colour) is shared by all its profiles, never by another frame."""

from __future__ import annotations

import numpy as np

from packshot.export.compliance.fixer import fix_for_profile


def test_profiles_of_one_frame_share_its_preparation_but_a_changed_frame_is_prepared_again():
    from packshot.export.compliance import fixer as fixer_mod
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


def test_profiles_that_come_to_the_same_placement_share_one_fix_with_the_same_pixels():
    """Two profiles that differ only in a minimum side the frame meets (as amazon-additional and
    etsy): the placement (size, window, scale, no upscaling) is the same, so the pixels are
    computed once; the result equals an unshared fix, and is read-only."""
    import pytest

    from packshot.export.compliance import fixer as fixer_mod
    from packshot.export.compliance.profiles import profile_from_dict
    from packshot.samples import make_product

    s = make_product("bottle", seed=2, size=(560, 560), backdrop="white")
    rgb, alpha = s.image, s.mask
    a_prof = profile_from_dict({"name": "a", "extends": "amazon-additional", "size": [600, 600],
                                "min_longest_side": 500})
    b_prof = profile_from_dict({"name": "b", "extends": "amazon-additional", "size": [600, 600],
                                "min_longest_side": 550})
    fixer_mod.release_prepared()
    a = fix_for_profile(rgb, alpha, a_prof, upscaler=None)
    b = fix_for_profile(rgb, alpha, b_prof, upscaler=None)
    assert b.rgb is a.rgb and b.alpha is a.alpha  # one computation
    assert b.provenance["params"]["profile"] == "b"  # provenance stays per profile
    with pytest.raises(ValueError):
        b.rgb[0, 0, 0] = 0.5  # shared pixels are read-only
    fixer_mod.release_prepared()
    alone = fix_for_profile(rgb.copy(), alpha.copy(), b_prof, upscaler=None)
    assert alone.rgb is not a.rgb and np.array_equal(alone.rgb, a.rgb) and np.array_equal(alone.alpha, a.alpha)
    # a profile whose minimum side asks for more than the frame gives gets its own (upscaled) fix
    c_prof = profile_from_dict({"name": "c", "extends": "amazon-additional", "size": [600, 600],
                                "min_longest_side": 600})
    fixer_mod.release_prepared()
    fix_for_profile(rgb, alpha, a_prof, upscaler=None)
    c = fix_for_profile(rgb, alpha, c_prof, upscaler="bicubic")
    assert c.upscaled and c.rgb is not a.rgb
