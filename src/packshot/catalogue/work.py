"""What a worker does: run one task (a SKU's cut-out and maps, or one scene's frames, QA and
exports) and report one :class:`~packshot.catalogue.store.UnitResult` per unit.

Workers never touch the job store; they write outputs atomically under ``DIR`` and return
results to the parent, which records them. Models (segmentation, OCR) are cached per process,
so a long-lived worker loads each once (:func:`warm_up` loads them when the worker starts).
"""

from __future__ import annotations

import json
import os
import threading
import time
import traceback
from pathlib import Path
from typing import Any, Mapping, Sequence

from ..errors import EmptyProductError, ImageLoadError, InputError, PackshotError
from .plan import PrepTask, SceneTask, unit_id
from .store import UnitResult

_BRIEFS: dict[tuple[str, int], Any] = {}
_PRODUCT: dict[str, Any] = {}  # the last SKU's (cutout key, cutout, maps): scene tasks of one SKU reuse it
_MASTER: dict[str, Any] = {}


def hint_for(exc: BaseException, stage: str) -> str:
    """What a user can do about a failure."""
    if isinstance(exc, ImageLoadError):
        return "replace the file with a readable image (PNG, JPEG, WebP, TIFF) and run again"
    if isinstance(exc, EmptyProductError):
        return "check the photo, or give this SKU a prompt (a box around the product) in the manifest"
    if type(exc).__name__ == "NeedsPromptError":
        return ("needs a prompt: the cut-out failed the plausibility gate (see <sku>/cutout_gate.json and "
                "cutout_rejected.png); give this SKU a `prompt` (box or points) in the manifest and run again")
    if isinstance(exc, InputError):
        return "fix the input named in the reason and run again"
    if isinstance(exc, MemoryError):
        return "run with fewer --workers or a lower --max-pixels"
    return f"unexpected error in {stage}: run again (done units are kept); report it if it repeats"


_OUT: list[str] = []  # the output folder of the running task: messages name files relative to it


def _message(exc: BaseException) -> str:
    text = str(exc) if isinstance(exc, (PackshotError, OSError, ValueError)) else f"{type(exc).__name__}: {exc}"
    for root in _OUT:
        text = text.replace(root + os.sep, "")
    return text


def _output(out_dir: Path, path: Path) -> dict:
    """The job store's record of one output: path under DIR, sha256 and size (packshot.integrity),
    and the mtime that lets a rerun trust an untouched file without reading it."""
    from ..integrity import file_digest

    d = file_digest(path)
    return {"path": path.relative_to(out_dir).as_posix(), "sha256": d["sha256"], "bytes": d["size"],
            "mtime_ns": path.stat().st_mtime_ns}


def warm_up() -> None:
    """Load the models a worker needs once (segmentation, OCR), so the first task is not slower."""
    import numpy as np

    try:
        from ..segment import segment

        img = np.full((64, 64, 3), 0.9, np.float32)
        img[16:48, 20:44] = 0.2
        segment(img)
    except Exception:  # warming is an optimisation: a real failure shows on the real task
        pass
    try:
        from ..ops.ocr import engine

        engine()  # PP-OCR (rapidocr), used by understand and by QA
    except Exception:
        pass


def die_with_parent(parent: int | None = None) -> None:
    """Make this process end when its parent does (SIGKILL of the parent included).

    ``parent`` is the pid of the process that started this one: a worker whose parent was killed
    while the worker was still starting (before this call) is an orphan already, and ends here at
    once (otherwise it would wait forever on its task queue, holding the run's stderr open).
    """
    parent = os.getppid() if parent is None else int(parent)
    if os.getppid() != parent:
        os._exit(1)
    try:  # Linux: the kernel sends SIGKILL when the parent dies
        import ctypes
        import signal

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG
    except Exception:
        pass
    if os.getppid() != parent:  # died between the check and prctl
        os._exit(1)

    def watch() -> None:  # elsewhere (and as a second line): poll for re-parenting
        while True:
            if os.getppid() != parent:
                os._exit(1)
            time.sleep(0.5)

    threading.Thread(target=watch, daemon=True, name="packshot-parent-watch").start()


def init_worker(warm: bool = True, parent: int | None = None) -> None:
    die_with_parent(parent)
    # each worker is one process on one core: keep numeric libraries from spawning core-count threads
    one_thread_each()
    if warm:
        warm_up()


def one_thread_each() -> None:
    """Numeric libraries of this process on one thread: OpenCV, the OCR engine's onnxruntime
    (whose waiting threads spin: with two workers on two cores, a second OCR thread roughly
    doubled OCR's CPU time for the same readings), and OpenBLAS (numpy's and scipy's: its threads
    spin after every product, and the small ones the stages make, N x 3 colours by a 3 x 3 matrix,
    gain nothing from a second thread; QA's colour check took 2.3x the CPU with them)."""
    try:
        import cv2

        cv2.setNumThreads(1)
    except Exception:
        pass
    from ..ops.ocr import set_threads

    set_threads(1)
    blas_threads(1)


_BLAS_SETTERS = ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads", "openblas_set_num_threads64_",
                 "openblas_set_num_threads")
_BLAS_GETTERS = ("scipy_openblas_get_num_threads64_", "scipy_openblas_get_num_threads", "openblas_get_num_threads64_",
                 "openblas_get_num_threads")


def _openblas_libraries() -> list[Any]:
    """The OpenBLAS libraries loaded in this process (numpy's and scipy's wheels each bundle one),
    as ctypes handles; none where /proc/self/maps is not readable (not Linux) or none is loaded."""
    import ctypes

    import numpy  # noqa: F401  (loads numpy's OpenBLAS)

    try:
        import scipy.linalg  # noqa: F401  (loads scipy's)
    except Exception:
        pass
    paths: dict[str, None] = {}
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                path = line.split()[-1] if line.strip() else ""
                if "openblas" in os.path.basename(path).lower():
                    paths[path] = None
    except OSError:
        return []
    libs = []
    for path in paths:
        try:
            libs.append(ctypes.CDLL(path))
        except OSError:
            pass
    return libs


def blas_threads(n: int | None = None) -> list[int]:
    """Set the threads of every loaded OpenBLAS to ``n`` (None: leave them); returns the counts they
    had (one per library found, so a caller can restore them with :func:`restore_blas_threads`).
    Without OpenBLAS (another BLAS, another OS) it does nothing and returns []."""
    before = []
    for lib in _openblas_libraries():
        get = next((getattr(lib, g) for g in _BLAS_GETTERS if hasattr(lib, g)), None)
        setter = next((getattr(lib, s) for s in _BLAS_SETTERS if hasattr(lib, s)), None)
        if get is None or setter is None:
            continue
        before.append(int(get()))
        if n is not None:
            setter(int(n))
    return before


def restore_blas_threads(counts: list[int]) -> None:
    """Undo :func:`blas_threads` (the libraries are found in the same order)."""
    libs = [lib for lib in _openblas_libraries()
            if any(hasattr(lib, g) for g in _BLAS_GETTERS) and any(hasattr(lib, s) for s in _BLAS_SETTERS)]
    for lib, count in zip(libs, counts):
        next(getattr(lib, s) for s in _BLAS_SETTERS if hasattr(lib, s))(int(count))


def run_task(task: Any) -> list[UnitResult]:
    """Run one task; never raises (failures are results)."""
    _OUT[:] = [str(Path(task.out_dir))]
    if isinstance(task, PrepTask):
        return run_prep(task)
    if isinstance(task, SceneTask):
        return run_scene(task)
    raise TypeError(f"unknown task {type(task).__name__}")


# ------------------------------------------------------------------------------------------- prep
def run_prep(task: PrepTask) -> list[UnitResult]:
    from ..imaging import load_image_working
    from ..segment import prompted, segment_prompted
    from ..segment import save_cutout_full
    from ..segment import load_cutout, save_cutout
    from ..segment import require_passed, review_cutout, write_review
    from ..understand import understand
    from ..understand import save_maps

    out = Path(task.out_dir)
    sku_dir = out / task.sku
    results: list[UnitResult] = []
    t0 = time.perf_counter()
    work_path = sku_dir / "maps" / WORKING_CUTOUT
    try:
        cut_path = sku_dir / "cutout.png"
        if task.cutout:
            # a photo over imaging.WORKING_PIXELS is analysed at a working resolution (as in
            # pipeline.process_photo); cutout.png is still written at the photo's size
            work = load_image_working(out / task.photo, max_pixels=task.max_pixels)
            prompt = _scaled_prompt(task.prompt, work.factor)
            cutout = segment_prompted(work.image, prompt, backend=task.segment_backend)  # + its exclude_hands
            if cutout.is_empty:
                raise EmptyProductError(task.photo, "no product found in the photo (the cut-out is empty)")
            # the gate and upright turn: a failing cut-out is never rendered (the SKU "needs a
            # prompt": a `prompt` box/points in its manifest row fixes it)
            review = review_cutout(cutout, orientation=task.orientation, gate=task.gate,
                                   prompted=prompted(task.prompt))
            # the photo named as it lies under DIR, so the record is the same wherever DIR is
            gate_path = write_review(sku_dir, review, task.photo)
            require_passed(review, task.photo)
            cutout = review.cutout
            review_flags, turn = review.flags, review.orientation.turn
            del review  # its first cut-out (a full working-size copy when turned) is not needed past here
            from ..render import settle_cutout  # a product lying askew rests level (as in `packshot run`)

            cutout, pose = settle_cutout(cutout)
            turned = turn % 360 != 0 or pose.changed
            outputs = {"cutout": None, "gate": None}
            if work.factor > 1 and not turned:
                save_cutout_full(cut_path, cutout, work)
                # the working-resolution cut-out the frames are rendered from (a rerun reads it back)
                save_cutout(work_path, cutout)
                outputs["working"] = _output(out, work_path)
            else:
                save_cutout(cut_path, cutout)
                work_path.unlink(missing_ok=True)
            del work
            outputs.update(cutout=_output(out, cut_path), gate=_output(out, gate_path))
            results.append(UnitResult(task.cutout_unit, True, time.perf_counter() - t0, outputs,
                                      {"flags": list(dict.fromkeys([*review_flags,
                                                                    *(getattr(cutout, "flags", ()) or ())]))}))
        # frames, maps and QA all use the cut-out as written (8-bit PNG), so a frame is the same
        # bytes whether its cut-out was made in this process or read back by a resumed run
        cutout = None  # released before the cut-out is read back (two full-size cut-outs otherwise)
        cutout = _under(load_cutout(work_path if work_path.is_file() else cut_path), out)
    except Exception as exc:
        return [UnitResult(task.cutout_unit if task.cutout else task.maps_unit, False, time.perf_counter() - t0,
                           error=_message(exc), hint=hint_for(exc, "cutout"),
                           info={"stage": "cutout", "trace": _trace(exc)})]
    if task.maps:
        t1 = time.perf_counter()
        try:
            maps = understand(cutout)
            written = save_maps(sku_dir / "maps", maps, cutout)
            outputs = {name: _output(out, Path(p)) for name, p in written.items() if Path(p).is_file()}
            # glass (render.transmission, as in `packshot run`): a product flagged transparent is
            # rendered from a see-through cut-out, written beside the maps with its record
            outputs.update(_write_glass(out, sku_dir, cutout, maps))
            results.append(UnitResult(task.maps_unit, True, time.perf_counter() - t1, outputs,
                                      {"flags": [f.code for f in maps.flags]}))
        except Exception as exc:
            results.append(UnitResult(task.maps_unit, False, time.perf_counter() - t1, error=_message(exc),
                                      hint=hint_for(exc, "understand"), info={"stage": "understand",
                                                                               "trace": _trace(exc)}))
    return results


WORKING_CUTOUT = "cutout_working.png"
"""Under ``<sku>/maps/``: the working-resolution cut-out of a photo over imaging.WORKING_PIXELS."""
GLASS_CUTOUT = "cutout_glass.png"
"""Under ``<sku>/maps/``: the see-through cut-out of a product flagged transparent (the frames are
rendered from it and checked against it)."""
GLASS_RECORD = "transmission.json"
"""Under ``<sku>/maps/``: the transmission record (``applied``, or why the glass was kept as shot)."""


def _write_glass(out: Path, sku_dir: Path, cutout: Any, maps: Any) -> dict[str, Any]:
    """Write (or remove) the see-through cut-out and its record; returns their outputs."""
    from ..imaging import atomic_write_text
    from ..pipeline import _see_through
    from ..segment import save_cutout

    glass_path, record_path = sku_dir / "maps" / GLASS_CUTOUT, sku_dir / "maps" / GLASS_RECORD
    glass, info = _see_through(cutout, maps)
    outputs: dict[str, Any] = {}
    if info is None:
        glass_path.unlink(missing_ok=True)
        record_path.unlink(missing_ok=True)
        return outputs
    atomic_write_text(record_path, json.dumps(info, sort_keys=True, default=str))
    outputs["transmission"] = _output(out, record_path)
    if info.get("applied"):
        save_cutout(glass_path, glass)
        outputs["glass"] = _output(out, glass_path)
    else:
        glass_path.unlink(missing_ok=True)
    return outputs


def _glass(out: Path, sku: str) -> tuple[Path | None, dict | None]:
    """The SKU's see-through cut-out (None when it has none) and its transmission record."""
    maps_dir = out / sku / "maps"
    record = None
    if (maps_dir / GLASS_RECORD).is_file():
        record = json.loads((maps_dir / GLASS_RECORD).read_text())
    glass = maps_dir / GLASS_CUTOUT
    return (glass if glass.is_file() else None), record


def _batch_size(spec: Any, settings: Any) -> int:
    from ..render import RENDERERS

    name = "plate" if spec.plate is not None else (spec.provenance.get("renderer") or settings.render_backend)
    return max(1, int(RENDERERS.trait(name, "batch", 1)))


def _scaled_prompt(prompt: Any, factor: int) -> Any:
    from ..pipeline import _scaled_prompt as scaled

    return scaled(prompt, factor)


def _trace(exc: BaseException) -> str:
    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__, limit=-4))[-2000:]


# ------------------------------------------------------------------------------------------- scene
def _brief(path: str) -> Any:
    from ..condition import load_brief

    mtime = Path(path).stat().st_mtime_ns
    key = (path, mtime)
    if key not in _BRIEFS:
        _BRIEFS.clear()
        _BRIEFS[key] = load_brief(path)
    return _BRIEFS[key]


def _product(out: Path, sku: str) -> tuple[Any, Any, int]:
    """The SKU's cut-out (the working-resolution one for a large photo), maps, and the factor
    from the working cut-out to ``cutout.png`` (1 for a photo used at its own size)."""
    from ..segment import load_cutout
    from ..understand import load_maps

    cut_path = out / sku / "cutout.png"
    work_path = out / sku / "maps" / WORKING_CUTOUT
    src = work_path if work_path.is_file() else cut_path
    glass, _ = _glass(out, sku)
    stamp = tuple((p.stat().st_mtime_ns, p.stat().st_size)
                  for p in (cut_path, src, out / sku / "maps" / "maps.json", *((glass,) if glass else ())))
    have = _PRODUCT.get(sku)
    if have is not None and have[0] == stamp:
        return have[1], have[2], have[3]
    cutout = _under(load_cutout(glass or src), out)
    maps = load_maps(out / sku / "maps")
    factor = 1
    if src is work_path:
        factor = int((cutout.provenance or {}).get("working_resolution", {}).get("factor", 0)) or \
            _factor_from_sizes(cut_path, cutout)
    _PRODUCT.clear()
    _PRODUCT[sku] = (stamp, cutout, maps, factor)
    return cutout, maps, factor


def _under(cutout: Any, out: Path) -> Any:
    """The cut-out with the paths in its provenance relative to DIR (the maps and frame records made
    from it are then the same wherever DIR is)."""
    import dataclasses

    return dataclasses.replace(cutout, provenance=_relative_paths(dict(cutout.provenance or {}), out))


def _factor_from_sizes(cut_path: Path, cutout: Any) -> int:
    from ..imaging import image_size

    w, _ = image_size(cut_path)
    return max(1, round(w / cutout.size[0]))


def _master(out: Path, rel: str | None) -> Any:
    if not rel:
        return None
    if rel not in _MASTER:
        from ..imaging import load_image

        import numpy as np

        _MASTER.clear()
        master = np.ascontiguousarray(load_image(out / rel).rgb, np.float32)
        if master.base is not None:
            master = master.copy()
        # read-only and its own: QA hashes it once per SKU, not twice per frame (qa.frozen_digest)
        master.setflags(write=False)
        _MASTER[rel] = master
    return _MASTER[rel]


def run_scene(task: SceneTask) -> list[UnitResult]:
    from ..render import render_many

    out = Path(task.out_dir)
    s = task.settings
    results: list[UnitResult] = []
    render_jobs = [j for j in task.frames if j.render]
    specs: dict[str, Any] = {}
    cutout = maps = None
    factor = 1
    if render_jobs:
        t0 = time.perf_counter()
        try:
            brief, scene, cutout, maps, factor, specs = _scene_specs(task, out, render_jobs)
        except Exception as exc:
            results += _failed_frames(render_jobs, exc, time.perf_counter() - t0, "condition")
            failed = {j.frame for j in task.frames if j.render}
            return results + _scene_rest(task, out, failed, {})
    frames: dict[str, Any] = {}
    failed: set[str] = set()
    for group in _render_groups(render_jobs, specs, s):
        t0 = time.perf_counter()
        try:
            todo = [(j, sp) for j, sp in group if sp is not None]
            if len(todo) < len(group):
                raise KeyError(f"the brief no longer has the variant {group[0][0].variant}")
            backend = "plate" if todo[0][1].plate is not None else s.render_backend
            rendered = render_many([sp for _, sp in todo], cutout, maps, backend=backend)
        except Exception as exc:
            failed.update(job.frame for job, _ in group)
            results += _failed_frames([job for job, _ in group], exc,
                                      (time.perf_counter() - t0) / len(group), "render")
            continue
        t_render = (time.perf_counter() - t0) / len(group)
        rendered = list(rendered)
        for k, (job, spec) in enumerate(todo):
            # each rendered frame is released as soon as it is saved (a large frame and its
            # layers must not stay alive through the next frame or the scene's QA)
            frame, rendered[k] = rendered[k], None
            t0 = time.perf_counter()
            uid = unit_id("frame", job.frame)
            try:
                png, sidecar, frame_info = _finish_frame(task, out, job, frame, cutout, maps, factor)
                del frame
                alpha = png.with_name(png.stem + "_alpha.png")
                frames[job.frame] = None  # written: exports read the record back (nothing held in memory)
                results.append(UnitResult(uid, True, t_render + time.perf_counter() - t0,
                                          {"png": _output(out, png), "record": _output(out, sidecar),
                                           "alpha": _output(out, alpha)}, frame_info))
            except Exception as exc:
                failed.add(job.frame)
                results += _failed_frames([job], exc, t_render + time.perf_counter() - t0, "render")
        del rendered
    if render_jobs and getattr(scene, "motion", None) is not None and not failed:
        results = _clips(task, out, brief, scene, cutout, maps, results)
    return results + _scene_rest(task, out, failed, frames)


def _variant_key(spec: Any) -> str:
    """A spec's variant name as frame jobs name it."""
    return str(spec.provenance.get("variant_name") or f"v{spec.variant}")


def _scene_specs(task: SceneTask, out: Path, render_jobs: list[Any]) -> tuple[Any, Any, Any, Any, int, dict[str, Any]]:
    """The scene's brief, settled scene, the SKU's cut-out, maps and photo scale factor, and its
    conditioned specs by variant name (``name@seed`` for frames re-rendered with a seed)."""
    import dataclasses

    from ..condition import condition_scene, cutout_hash
    from .plan import scene_digest

    brief = _brief(task.brief)
    scene = task.settings.scene(next(sc for sc in brief.scenes if sc.name == task.scene))
    cutout, maps, factor = _product(out, task.sku)
    specs: dict[str, Any] = {}
    for spec in condition_scene(scene, cutout, maps, task.sku, brief.name, scene_digest(scene), cutout_hash(cutout)):
        specs[_variant_key(spec)] = spec
    # frames with a seed from a re-render request: the scene conditioned again with that seed
    for seed in sorted({j.seed for j in render_jobs if j.seed is not None}):
        reseeded = dataclasses.replace(scene, seed=seed)
        wanted = {j.variant for j in render_jobs if j.seed == seed}
        for spec in condition_scene(reseeded, cutout, maps, task.sku, brief.name, scene_digest(reseeded),
                                    cutout_hash(cutout)):
            name = _variant_key(spec)
            if name in wanted:
                specs[f"{name}@{seed}"] = spec
    return brief, scene, cutout, maps, factor, specs


def _failed_frames(jobs: Sequence[Any], exc: BaseException, dt: float, stage: str) -> list[UnitResult]:
    """A failed frame unit for each job, with the error, its hint and the stage it failed in."""
    return [UnitResult(unit_id("frame", j.frame), False, dt, error=_message(exc), hint=hint_for(exc, stage),
                       info={"stage": stage, "trace": _trace(exc)}) for j in jobs]


def _render_groups(render_jobs: list[Any], specs: Mapping[str, Any], s: Any) -> list[list[Any]]:
    """``(job, spec)`` pairs grouped for the renderer: the frames of one scene go to a batching
    renderer (diffusion: its registered ``batch`` trait) together, so its variants are painted in
    one model call; others one at a time. A job whose spec is missing is a group of its own."""
    groups: list[list[Any]] = []
    for job in render_jobs:
        spec = specs.get(job.variant if job.seed is None else f"{job.variant}@{job.seed}")
        last = groups[-1] if groups else None
        if spec is not None and last and last[0][1] is not None and len(last) < _batch_size(spec, s):
            last.append((job, spec))
        else:
            groups.append([(job, spec)])
    return groups


def _finish_frame(task: SceneTask, out: Path, job: Any, frame: Any, cutout: Any, maps: Any,
                  factor: int) -> tuple[Path, Path, dict[str, Any]]:
    """Relight a rendered frame, scale it to the photo, record its provenance and save it;
    returns its PNG, its sidecar and the unit info (source kind, size)."""
    import dataclasses

    from ..relight import relight
    from ..render import declared_shadow, frame_at_photo_scale, save_frame

    s = task.settings
    if s.relight:
        frame = relight(frame, cutout, maps, overwrite_input=True)  # the render is not kept
    if s.relight_model:
        from ..relight import relight_with

        frame = relight_with(s.relight_model, frame, cutout, maps)
    shadow = declared_shadow(frame)  # a flat-lay's shadow layer is written with it, for qa
    frame = frame.without_layers()  # nothing after relight reads the layers (as in process_photo)
    frame = frame_at_photo_scale(frame, factor)
    prov = dict(frame.provenance)
    prov.update(run_key=job.frame_key, photo_sha256=(cutout.provenance or {}).get("inputs", {}).get("image"))
    if task.photo:
        prov["photo"] = task.photo
    glass, transmission = _glass(out, task.sku)
    if transmission is not None:
        prov["transmission"] = transmission
    frame = dataclasses.replace(frame, provenance=prov)
    # QA checks the frame against the cut-out it was rendered from (the see-through one
    # for glass at the photo's own size)
    reference = glass if glass is not None and factor == 1 else out / task.sku / "cutout.png"
    sidecar = Path(save_frame(out, frame, reference, shadow=shadow))
    return sidecar.with_suffix(".png"), sidecar, {"source_kind": frame.source_kind, "size": list(frame.size)}


def _clips(task: SceneTask, out: Path, brief: Any, scene: Any, cutout: Any, maps: Any,
           results: list[UnitResult]) -> list[UnitResult]:
    """The scene's motion clips (``motion`` in the brief; :mod:`packshot.motion.io`), written beside
    its stills whenever the scene's frames are made (the scene's digest covers its motion block).
    A clip that fails fails the scene's first frame unit, with the reason."""
    import dataclasses

    from ..motion import write_scene_clips

    s = task.settings
    t0 = time.perf_counter()
    try:
        write_scene_clips(out, dataclasses.replace(brief, scenes=(scene,)), cutout, maps, task.sku,
                          str((cutout.provenance or {}).get("inputs", {}).get("image") or ""), s.render_backend,
                          s.relight, s.qa, _master(out, task.master), True)
    except Exception as exc:
        first = unit_id("frame", next(j for j in task.frames if j.render).frame)
        return [r for r in results if r.id != first] + [
            UnitResult(first, False, time.perf_counter() - t0, error=f"motion clip: {_message(exc)}",
                       hint=hint_for(exc, "motion"), info={"stage": "motion", "trace": _trace(exc)})]
    return results


def _scene_rest(task: SceneTask, out: Path, failed: set[str], frames: dict[str, Any]) -> list[UnitResult]:
    """QA and exports of the scene's frames (the ones whose frame did not fail).

    One frame at a time: its QA, then its exports, which take the frame's pixels as QA decoded
    them (never from memory of the render: the same pixels a resumed run reads back), so a frame
    is decoded once, and only one is held at a time. The results are the QA units, then the exports."""
    s = task.settings
    jobs = [j for j in task.frames if (j.qa or j.profiles) and j.frame not in failed]
    qa_results: list[UnitResult] = []
    export_results: list[UnitResult] = []
    master, master_error = None, None
    if any(j.qa for j in jobs):
        try:
            master = _master(out, task.master)
        except Exception as exc:
            master_error = exc
    exporter = _Exporter(task, out) if any(j.profiles for j in jobs) else None
    for j in jobs:
        pixels = None
        if j.qa and master_error is not None:
            qa_results.append(UnitResult(unit_id("qa", j.frame), False, 0.0, error=_message(master_error),
                                         hint=hint_for(master_error, "qa"), info={"stage": "qa"}))
        elif j.qa:
            result, pixels = _qa_one(j, out, master, s.qa_overlay)
            qa_results.append(result)
        if j.profiles:
            export_results.extend(exporter.export(j, pixels))
        del pixels
    return qa_results + export_results


def _qa_one(j: Any, out: Path, master: Any, overlay: bool) -> tuple[UnitResult, Any]:
    """The QA unit of one frame, and the frame's (rgb, alpha) as QA decoded them (None when QA
    failed or checked the frame at a reduced working size)."""
    from ..qa import check_frame_file

    t0 = time.perf_counter()
    uid = unit_id("qa", j.frame)
    try:
        sidecar = out / f"{j.frame}.json"
        report, inputs = check_frame_file(sidecar, master, overlay=overlay)
        outputs = {"report": _output(out, sidecar.with_name(f"{j.variant}_qa.json"))}
        overlay_path = sidecar.with_name(f"{j.variant}_qa_overlay.png")
        if overlay and overlay_path.exists():
            outputs["overlay"] = _output(out, overlay_path)
        reasons = [str(getattr(r, "message", r)) for r in (getattr(report, "reasons", ()) or ())][:5]
        pixels = (inputs.frame_rgb, inputs.product_alpha) if inputs.scale == 1 else None
        return UnitResult(uid, True, time.perf_counter() - t0, outputs,
                          {"verdict": report.verdict, "reasons": reasons}), pixels
    except Exception as exc:
        return UnitResult(uid, False, time.perf_counter() - t0, error=_message(exc), hint=hint_for(exc, "qa"),
                          info={"stage": "qa", "trace": _trace(exc)}), None


class _Exporter:
    """Exports frames for their profiles into ``DIR/export`` (and the run's ``--dest``).

    The frame is always read from its record, never taken from the render in memory: the
    exported bytes are then the same whether the frame was rendered in this task or in an
    earlier (killed) run. Its pixels may come decoded (by its QA, from the same files)."""

    def __init__(self, task: SceneTask, out: Path):
        from ..export import Destination

        self.task, self.out = task, out
        s = task.settings
        self.local = Destination(str(out / "export"))
        self.remote = Destination(s.dest) if s.dest else None

    def export(self, j: Any, pixels: Any = None) -> list[UnitResult]:
        """The export units of one frame job (one per profile)."""
        import dataclasses

        from ..export import export_frame_files, get_profile, load_export_frame

        task, out, s = self.task, self.out, self.task.settings
        t0 = time.perf_counter()
        names = [get_profile(spec).name for spec in j.profiles]
        try:
            frame = load_export_frame(out / f"{j.frame}.json", pixels=pixels)
            # paths under DIR relative: the export's provenance (and so its bytes) must not
            # depend on where the output folder lies
            frame = dataclasses.replace(frame, provenance=_relative_paths(frame.provenance, out))
            files, failures = export_frame_files(frame, list(j.profiles), self.local, template=s.template,
                                                 upscaler=s.upscaler,
                                                 credentials=_signing(s.credentials, task.sku, task.title))
        except Exception as exc:
            return [UnitResult(unit_id("export", j.frame, name), False, time.perf_counter() - t0,
                               error=_message(exc), hint=hint_for(exc, "export"),
                               info={"stage": "export", "profile": name}) for name in names]
        dt = (time.perf_counter() - t0) / max(len(names), 1)
        by_profile = {f.profile: f for f in files}
        errors = {f.profile: f.error for f in failures}
        return [self._unit(j, name, by_profile.get(name), errors, dt) for name in names]

    def _unit(self, j: Any, name: str, f: Any, errors: Mapping[str, str], dt: float) -> UnitResult:
        """The unit of one profile's file: written (and delivered to ``--dest``), or why not."""
        out, remote = self.out, self.remote
        uid = unit_id("export", j.frame, name)
        if f is None:
            return UnitResult(uid, False, dt, error=errors.get(name, "export wrote no file"),
                              hint="check the profile named in the reason, then run again",
                              info={"stage": "export", "profile": name})
        path = out / "export" / f.path
        info = {"file": f"export/{f.path}", "width": f.width, "height": f.height, "format": f.format,
                "upscaled": f.upscaled, "sha256": f.sha256, "provenance_digest": f.provenance_digest}
        if not f.c2pa_sidecar:  # a sidecar from an earlier signed run no longer describes this file
            from ..credentials.export_hook import sidecar_path

            (out / "export" / sidecar_path(f.path)).unlink(missing_ok=True)
        if f.signed:
            info["signed"] = True
            if f.c2pa_sidecar:
                info["c2pa_sidecar"] = f"export/{f.c2pa_sidecar}"
        if remote is not None:
            try:
                delivered = remote.put(f.path, path.read_bytes())
                info["url"] = delivered.url
                if f.c2pa_sidecar:  # the profile strips metadata: its manifest travels beside the file
                    remote.put(f.c2pa_sidecar, (out / "export" / f.c2pa_sidecar).read_bytes())
            except Exception as exc:
                return UnitResult(uid, False, dt, error=f"{remote.display}: {_message(exc)}",
                                  hint="check the destination (--dest) and its credentials, then run again",
                                  info={"stage": "export", "profile": name})
        return UnitResult(uid, True, dt, {"file": _output(out, path)}, info)


_SIGNING: dict[str, Any] = {}


def _signing(folder: str | None, sku: str = "", title: str = "") -> Any:
    """The ``ExportCredentials`` for one SKU's exports: the credentials are loaded and checked
    once per folder and worker process (not per scene); the SKU's manifest title goes into the
    alt text. None without credentials."""
    if not folder:
        return None
    if folder not in _SIGNING:
        from ..credentials.export_hook import ExportCredentials

        _SIGNING[folder] = ExportCredentials(folder)
    base = _SIGNING[folder]
    if not title:
        return base
    from ..credentials.export_hook import ExportCredentials

    return ExportCredentials(base.signer, {sku: {"title": title}})


def _relative_paths(value: Any, root: Path) -> Any:
    """``value`` with every string that is a path under ``root`` made relative to it."""
    prefix = str(root) + os.sep
    if isinstance(value, str):
        return value[len(prefix):] if value.startswith(prefix) else value
    if isinstance(value, dict):
        return {k: _relative_paths(v, root) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_relative_paths(v, root) for v in value)
    return value


__all__ = ["blas_threads", "die_with_parent", "hint_for", "init_worker", "one_thread_each", "restore_blas_threads", "run_prep", "run_scene", "run_task", "warm_up"]
