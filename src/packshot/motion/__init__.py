"""motion: short product clips from the same cut-out and maps, the product's pixels locked.

The camera and the light move; the product does not change. A scene of the brief may carry
``motion`` (:class:`MotionSpec`): ``push-in``, ``parallax``, ``light-sweep``, ``orbit-light``,
``reveal``, combinable. :class:`~packshot.motion.render.ClipRenderer` paints the static layers once
and per frame only warps and composites; :class:`~packshot.motion.encode.ClipWriter` pipes the
frames to H.264 (.mp4) and VP9 (.webm) through PyAV; :mod:`packshot.motion.qa` checks sampled
frames like stills and the clip over time (flicker, jitter, product deltaE).

PyAV is the optional extra ``motion``; importing this package does not import it.
"""

from .encode import ClipWriter, read_clip_facts
from .plan import (EASINGS, MAX_FPS, MAX_FRAMES, MAX_SECONDS, MOTION_KINDS, FramePlan, MotionSpec, check_motion,
                   plan_motion)



def write_scene_clips(*args, **kwargs):
    """:func:`packshot.motion.io.write_scene_clips` (imported on first use: it reaches the render stage)."""
    from .io import write_scene_clips as write

    return write(*args, **kwargs)


__all__ = ["MOTION_KINDS", "EASINGS", "MAX_FPS", "MAX_FRAMES", "MAX_SECONDS", "MotionSpec", "FramePlan", "check_motion",
           "plan_motion", "ClipWriter", "read_clip_facts", "write_scene_clips"]
