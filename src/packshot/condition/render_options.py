"""Brief fields for model renderers: ``renderer`` and the ``diffusion`` block (validation only).

Example (per scene or under ``defaults``)::

    renderer: diffusion
    diffusion:
      model: stabilityai/stable-diffusion-xl-base-1.0   # a hub id, or a local diffusers folder
      revision: main                                    # optional (hub ids)
      controlnets:
        - {kind: depth, model: diffusers/controlnet-depth-sdxl-1.0, scale: 0.6}
        - {kind: canny, model: ./models/controlnet-canny, scale: 0.4}
      ip_adapter: {model: h94/IP-Adapter, subfolder: sdxl_models,
                   weight_name: ip-adapter_sdxl.safetensors, image_encoder: sdxl_models/image_encoder,
                   scale: 0.5}                          # fed with the scene's reference images
      scheduler: dpmpp_2m       # default: the model's own
      steps: 30
      guidance: 6.5
      strength: 1.0             # 1 = paint the background from noise; < 1 keeps the layout
      lock_margin: 6            # pixels around the product the model never repaints
      base_band: 24             # pixels under the base handed back for a contact shadow (0 = none)
      seam_correction: true
      device: cuda              # default: cuda, else mps, else cpu
      dtype: bfloat16           # default: bfloat16 / float16 on cuda, float16 on mps, float32 on cpu

The values are checked here and travel to the renderer as plain JSON in the scene's
provenance (``SceneSpec.provenance["diffusion"]``), so a change of model or setting changes the
frame's run key and the frame is rebuilt.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

RENDERER_NAMES = ("studio", "plate", "diffusion")
"""Renderers a brief may name (``renderer:``)."""
CONTROL_KINDS = ("depth", "canny")
SCHEDULERS = ("default", "euler", "euler_a", "dpmpp_2m", "dpmpp_2m_karras", "ddim", "unipc", "pndm", "lms")
DEVICES = ("auto", "cpu", "cuda", "mps")
DTYPES = ("auto", "float32", "float16", "bfloat16")

_KEYS = {"model", "revision", "controlnets", "ip_adapter", "scheduler", "steps", "guidance", "strength",
         "lock_margin", "base_band", "seam_correction", "seam_feather", "device", "dtype", "compile",
         "channels_last", "attention_slicing", "vae_tiling", "cpu_offload", "local_files_only"}
_CONTROL_KEYS = {"kind", "model", "revision", "scale", "start", "end"}
_IP_KEYS = {"model", "subfolder", "weight_name", "image_encoder", "scale", "revision"}


def _model_ref(ck: Any, value: Any, path: str) -> str:
    """A hub id ('org/name') or a local folder (resolved against the brief's folder)."""
    s = ck.text(value, path).strip()
    if not s:
        raise ck.fail(path, "must name a model: a hub id like 'org/name' or a local diffusers folder")
    p = Path(s).expanduser()
    local = p if p.is_absolute() else ck.base_dir / p
    if local.is_dir():
        return str(local.resolve())
    if p.is_absolute() or s.startswith((".", "~")) or s.count("/") > 1 or "\\" in s:
        raise ck.fail(path, f"model folder '{s}' does not exist (looked for {local})")
    if local.exists():
        raise ck.fail(path, f"'{s}' is a file; give a diffusers folder (with model_index.json or config.json)")
    return s  # a hub id


def _flag(ck: Any, value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise ck.fail(path, f"must be true or false, got {value!r}")
    return value


def parse_diffusion(ck: Any, raw: Any, path: str) -> dict[str, Any]:
    """Validate a ``diffusion`` block into a JSON-ready dict (only the keys given)."""
    block: Mapping[str, Any] = ck.mapping(raw, path, _KEYS)
    out: dict[str, Any] = {}
    for key, value in block.items():
        fp = f"{path}.{key}"
        if key == "model":
            out[key] = _model_ref(ck, value, fp)
        elif key == "revision":
            out[key] = ck.text(value, fp)
        elif key == "controlnets":
            items = value if isinstance(value, (list, tuple)) else [value]
            nets = []
            for i, item in enumerate(items):
                ip = f"{fp}[{i}]"
                c = ck.mapping(item, ip, _CONTROL_KEYS)
                if "kind" not in c or "model" not in c:
                    raise ck.fail(ip, "needs 'kind' (depth or canny) and 'model'")
                kind = ck.text(c["kind"], f"{ip}.kind")
                if kind not in CONTROL_KINDS:
                    raise ck.fail(f"{ip}.kind", f"unknown control '{kind}'; choose one of: {', '.join(CONTROL_KINDS)}")
                net = {"kind": kind, "model": _model_ref(ck, c["model"], f"{ip}.model"),
                       "scale": ck.number(c.get("scale", 0.5), f"{ip}.scale", 0.0, 2.0),
                       "start": ck.number(c.get("start", 0.0), f"{ip}.start", 0.0, 1.0),
                       "end": ck.number(c.get("end", 1.0), f"{ip}.end", 0.0, 1.0)}
                if net["start"] >= net["end"]:
                    raise ck.fail(f"{ip}.end", f"must be after start ({net['end']:g} <= {net['start']:g})")
                if "revision" in c:
                    net["revision"] = ck.text(c["revision"], f"{ip}.revision")
                nets.append(net)
            out[key] = nets
        elif key == "ip_adapter":
            a = ck.mapping(value, fp, _IP_KEYS)
            for need in ("model", "weight_name"):
                if need not in a:
                    raise ck.fail(fp, f"needs '{need}' (e.g. model: h94/IP-Adapter, subfolder: models, "
                                      f"weight_name: ip-adapter_sd15.safetensors)")
            out[key] = {"model": _model_ref(ck, a["model"], f"{fp}.model"),
                        "subfolder": ck.text(a.get("subfolder", ""), f"{fp}.subfolder"),
                        "weight_name": ck.text(a["weight_name"], f"{fp}.weight_name"),
                        "image_encoder": ck.text(a.get("image_encoder", "image_encoder"), f"{fp}.image_encoder"),
                        "scale": ck.number(a.get("scale", 0.5), f"{fp}.scale", 0.0, 2.0)}
            if "revision" in a:
                out[key]["revision"] = ck.text(a["revision"], f"{fp}.revision")
        elif key == "scheduler":
            s = ck.text(value, fp)
            if s not in SCHEDULERS:
                raise ck.fail(fp, f"unknown scheduler '{s}'; choose one of: {', '.join(SCHEDULERS)}")
            out[key] = s
        elif key == "steps":
            out[key] = ck.integer(value, fp, 1, 500)
        elif key == "guidance":
            out[key] = ck.number(value, fp, 0.0, 50.0)
        elif key == "strength":
            out[key] = ck.number(value, fp, 0.01, 1.0)
        elif key in ("lock_margin", "base_band"):
            out[key] = ck.integer(value, fp, 0, 512)
        elif key == "seam_feather":
            out[key] = ck.number(value, fp, 0.0, 512.0)
        elif key == "device":
            d = ck.text(value, fp)
            if d.split(":")[0] not in DEVICES:
                raise ck.fail(fp, f"unknown device '{d}'; choose one of: {', '.join(DEVICES)} (or cuda:N)")
            out[key] = d
        elif key == "dtype":
            d = ck.text(value, fp)
            if d not in DTYPES:
                raise ck.fail(fp, f"unknown dtype '{d}'; choose one of: {', '.join(DTYPES)}")
            out[key] = d
        else:  # booleans
            out[key] = _flag(ck, value, fp)
    if "steps" in out and "strength" in out and int(out["steps"] * out["strength"]) < 1:
        raise ck.fail(f"{path}.strength", f"steps x strength must give at least one denoising step "
                                          f"({out['steps']} x {out['strength']:g} < 1)")
    return out
