"""Settings of the diffusion renderer (plain data; no torch)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any, Mapping

from ...errors import InputError


@dataclass(frozen=True)
class ControlNetSpec:
    """One ControlNet: which product map drives it (``depth`` or ``canny``) and how strongly."""

    kind: str
    model: str
    scale: float = 0.5
    start: float = 0.0
    end: float = 1.0
    revision: str | None = None


@dataclass(frozen=True)
class IPAdapterSpec:
    """IP-Adapter weights (fed with the scene's reference images) and their scale."""

    model: str
    weight_name: str
    subfolder: str = ""
    image_encoder: str = "image_encoder"
    scale: float = 0.5
    revision: str | None = None


@dataclass(frozen=True)
class DiffusionSettings:
    """Everything that decides what the diffusion renderer paints (brief ``diffusion:`` block).

    Model references are hub ids (``org/name``) or local folders in the diffusers layout.
    """

    model: str = ""
    revision: str | None = None
    controlnets: tuple[ControlNetSpec, ...] = ()
    ip_adapter: IPAdapterSpec | None = None
    scheduler: str = "default"
    steps: int = 30
    guidance: float = 7.0
    strength: float = 1.0
    lock_margin: int = 6
    """Pixels around the product the model never repaints."""
    base_band: int = 0
    """Height (pixels) of a band under the base handed back to the model for a contact shadow."""
    seam_correction: bool = True
    seam_feather: float = 16.0
    """Pixels over which the seam's colour correction fades out."""
    device: str = "auto"
    dtype: str = "auto"
    compile: bool = False
    channels_last: bool = True
    attention_slicing: bool = False
    vae_tiling: bool = False
    cpu_offload: bool = False
    local_files_only: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], base: "DiffusionSettings | None" = None,
                  check: bool = True) -> "DiffusionSettings":
        """Settings from a (validated) brief block, over ``base`` (key by key); ``check`` asks
        for a complete setup (a model, at least one denoising step)."""
        base = base or cls()
        kw: dict[str, Any] = {}
        known = {f for f in cls.__dataclass_fields__ if f != "extra"}
        for key, value in data.items():
            if key not in known:
                raise InputError("diffusion", f"unknown setting '{key}'; known: {', '.join(sorted(known))}")
            if key == "controlnets":
                value = tuple(v if isinstance(v, ControlNetSpec) else ControlNetSpec(**v) for v in value)
            elif key == "ip_adapter" and value is not None and not isinstance(value, IPAdapterSpec):
                value = IPAdapterSpec(**value)
            kw[key] = value
        out = replace(base, **kw)
        if not check:
            return out
        if not out.model:
            raise InputError("diffusion.model", "the diffusion renderer needs a model (a hub id or a local folder)")
        if out.steps < 1 or int(out.steps * out.strength) < 1:
            raise InputError("diffusion", f"steps x strength must give at least one step ({out.steps} x {out.strength:g})")
        for c in out.controlnets:
            if c.kind not in ("depth", "canny"):
                raise InputError("diffusion.controlnets", f"unknown control kind '{c.kind}' (depth or canny)")
        return out

    def load_key(self) -> tuple:
        """What identifies a loaded pipeline (per-call values such as scales are not in it)."""
        return (self.model, self.revision, tuple((c.model, c.revision) for c in self.controlnets),
                None if self.ip_adapter is None else (self.ip_adapter.model, self.ip_adapter.subfolder,
                                                      self.ip_adapter.weight_name, self.ip_adapter.image_encoder,
                                                      self.ip_adapter.revision),
                self.device, self.dtype, self.compile, self.channels_last, self.attention_slicing, self.vae_tiling,
                self.cpu_offload, self.local_files_only)

    def call_key(self) -> tuple:
        """Settings a batch must share to run in one pipeline call."""
        return (self.load_key(), self.scheduler, self.steps, self.guidance, self.strength,
                tuple((c.scale, c.start, c.end) for c in self.controlnets),
                None if self.ip_adapter is None else self.ip_adapter.scale)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("extra", None)
        return d
