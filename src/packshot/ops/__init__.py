"""Neutral operations every stage may import (no stage imports another stage's helpers).

=========================  =====================================================================
module                     what
=========================  =====================================================================
:mod:`.placement`          the placement warp: cut-out -> frame by one affine map (premultiplied)
:mod:`.geometry`           shadow projection, the floor's foreshortening, support surfaces, shapes
:mod:`.filters`            Gaussian blurs (exact, and reduced-resolution for large sigmas)
:mod:`.morphology`         structuring elements, erosion, the one definition of the product interior
:mod:`.noise`              grain estimation
:mod:`.ocr`                the PP-OCR engine understand, qa and the compliance check all read text with
=========================  =====================================================================

These modules import only :mod:`packshot.types`, :mod:`packshot.imaging`, :mod:`packshot.errors`
and third-party libraries, never a stage package. Import the module you need
(``from packshot.ops.placement import place_product``); this package does not import them all.
"""
