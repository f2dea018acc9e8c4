"""``sam:CHECKPOINT``: Segment Anything with a user-supplied checkpoint.

Uses the model code of the ``segment-anything`` package (install ``packshot[sam]`` or
``pip install segment-anything torch``). No weights ship with packshot: pass the path of a
SAM checkpoint (``sam_vit_b_01ec64.pth`` and friends, or any state dict of the same layout).
The architecture (image size, embedding width, depth, heads, global-attention blocks) is read
from the shapes in the checkpoint, so ViT-B/L/H and small custom models all load.

Why the package's ``__init__`` is not imported: ``segment_anything/__init__.py`` imports its
predictor and automatic mask generator, which import ``torchvision`` for two resize helpers and
a box NMS. torchvision is not needed for inference and cannot always be installed beside the
torch build in use (it pins an exact torch version). So this module loads the self-contained
``segment_anything/modeling`` sub-package under a private module name, without running the
package ``__init__``, and does the predictor's small pre-processing (resize the long side,
normalise, pad) itself with Pillow and torch. ``sys.modules['segment_anything']`` is never
touched, so a real ``import segment_anything`` elsewhere behaves as usual.
"""

from __future__ import annotations

import functools
import importlib.util
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from ..errors import InputError, MissingExtraError
from ..imaging import linear_to_srgb8
from ..provenance import sha256_file
from ..types import Prompt
from . import BACKENDS, Prediction, SegmentConfig

_PRIVATE_NAME = "_packshot_sam_modeling"


def sam_modeling():
    """The ``segment_anything.modeling`` package, loaded without ``segment_anything/__init__``.

    Raises
    ------
    MissingExtraError
        When torch or segment-anything is not installed.
    """
    if _PRIVATE_NAME in sys.modules:
        return sys.modules[_PRIVATE_NAME]
    try:
        import torch  # noqa: F401
    except ImportError as exc:
        raise MissingExtraError("torch", "sam", "the sam backend") from exc
    spec = importlib.util.find_spec("segment_anything")
    if spec is None or not spec.submodule_search_locations:
        raise MissingExtraError("segment_anything", "sam", "the sam backend")
    pkg_dir = Path(list(spec.submodule_search_locations)[0]) / "modeling"
    mod_spec = importlib.util.spec_from_file_location(
        _PRIVATE_NAME, pkg_dir / "__init__.py", submodule_search_locations=[str(pkg_dir)]
    )
    if mod_spec is None or mod_spec.loader is None:  # pragma: no cover - broken install
        raise MissingExtraError("segment_anything", "sam", "the sam backend")
    module = importlib.util.module_from_spec(mod_spec)
    sys.modules[_PRIVATE_NAME] = module
    try:
        mod_spec.loader.exec_module(module)
    except Exception:
        del sys.modules[_PRIVATE_NAME]
        raise
    return module


@dataclass(frozen=True)
class SamArchitecture:
    """The shape of a SAM model (SAM's own values for ViT-B by default)."""

    img_size: int = 1024
    """Square input side of the image encoder."""
    patch_size: int = 16
    """ViT patch side."""
    embed_dim: int = 768
    """Image encoder width."""
    depth: int = 12
    """Number of image encoder blocks."""
    num_heads: int = 12
    """Image encoder attention heads."""
    global_attn_indexes: tuple[int, ...] = (2, 5, 8, 11)
    """Blocks with global (not windowed) attention."""
    window_size: int = 14
    """Window side of the windowed attention blocks."""
    prompt_embed_dim: int = 256
    """Width of the prompt encoder and mask decoder."""
    decoder_depth: int = 2
    """Two-way transformer depth of the mask decoder."""
    decoder_mlp_dim: int = 2048
    """MLP width of the mask decoder's transformer."""
    decoder_heads: int = 8
    """Attention heads of the mask decoder's transformer (not recorded in a checkpoint)."""
    mask_in_chans: int = 16
    """Channels of the prompt encoder's mask downscaler."""
    extra: dict = field(default_factory=dict, compare=False)


def build_sam(arch: SamArchitecture):
    """A SAM model (torch ``nn.Module``, eval mode, random weights) of the given shape."""
    import torch

    m = sam_modeling()
    emb = arch.img_size // arch.patch_size
    sam = m.Sam(
        image_encoder=m.ImageEncoderViT(
            depth=arch.depth, embed_dim=arch.embed_dim, img_size=arch.img_size, mlp_ratio=4,
            norm_layer=functools.partial(torch.nn.LayerNorm, eps=1e-6), num_heads=arch.num_heads,
            patch_size=arch.patch_size, qkv_bias=True, use_rel_pos=True,
            global_attn_indexes=tuple(arch.global_attn_indexes), window_size=arch.window_size,
            out_chans=arch.prompt_embed_dim,
        ),
        prompt_encoder=m.PromptEncoder(
            embed_dim=arch.prompt_embed_dim, image_embedding_size=(emb, emb),
            input_image_size=(arch.img_size, arch.img_size), mask_in_chans=arch.mask_in_chans,
        ),
        mask_decoder=m.MaskDecoder(
            num_multimask_outputs=3,
            transformer=m.TwoWayTransformer(depth=arch.decoder_depth, embedding_dim=arch.prompt_embed_dim,
                                            mlp_dim=arch.decoder_mlp_dim, num_heads=arch.decoder_heads),
            transformer_dim=arch.prompt_embed_dim, iou_head_depth=3, iou_head_hidden_dim=256,
        ),
        pixel_mean=[123.675, 116.28, 103.53],
        pixel_std=[58.395, 57.12, 57.375],
    )
    return sam.eval()


def architecture_from_state_dict(state: dict) -> SamArchitecture:
    """Read a SAM architecture from the tensor shapes of a checkpoint."""
    try:
        embed_dim = int(state["image_encoder.patch_embed.proj.weight"].shape[0])
        patch = int(state["image_encoder.patch_embed.proj.weight"].shape[2])
        grid = int(state["image_encoder.pos_embed"].shape[1])
        depth = len({k.split(".")[2] for k in state if k.startswith("image_encoder.blocks.")})
        head_dim = int(state["image_encoder.blocks.0.attn.rel_pos_h"].shape[1])
        rel = [int(state[f"image_encoder.blocks.{i}.attn.rel_pos_h"].shape[0]) for i in range(depth)]
        prompt_dim = int(state["prompt_encoder.point_embeddings.0.weight"].shape[1])
        dec_depth = len({k.split(".")[3] for k in state if k.startswith("mask_decoder.transformer.layers.")})
        mlp_dim = int(state["mask_decoder.transformer.layers.0.mlp.lin1.weight"].shape[0])
        mask_in = int(state["prompt_encoder.mask_downscaling.3.weight"].shape[0])
    except (KeyError, IndexError, AttributeError) as exc:
        raise InputError("checkpoint", f"is not a Segment Anything state dict (missing {exc})") from exc
    global_size = 2 * grid - 1
    global_idx = tuple(i for i, r in enumerate(rel) if r == global_size)
    windowed = [r for r in rel if r != global_size]
    window = (windowed[0] + 1) // 2 if windowed else 14
    return SamArchitecture(
        img_size=grid * patch, patch_size=patch, embed_dim=embed_dim, depth=depth,
        num_heads=max(1, embed_dim // head_dim), global_attn_indexes=global_idx, window_size=window,
        prompt_embed_dim=prompt_dim, decoder_depth=dec_depth, decoder_mlp_dim=mlp_dim, mask_in_chans=mask_in,
    )


@functools.lru_cache(maxsize=2)
def _load(path: str, mtime: float):
    import torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many kinds for a bad file
        raise InputError(path, f"cannot be read as a torch checkpoint ({exc.__class__.__name__}: {exc})") from exc
    if isinstance(state, dict) and "model" in state and isinstance(state["model"], dict):
        state = state["model"]
    if not isinstance(state, dict):
        raise InputError(path, "checkpoint does not hold a state dict")
    try:
        arch = architecture_from_state_dict(state)
    except InputError as exc:
        raise InputError(path, exc.problem) from exc
    model = build_sam(arch)
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing:
        raise InputError(path, f"checkpoint lacks {len(missing)} SAM weights (first: {missing[0]})")
    return model, arch, sha256_file(path)


class SamBackend:
    """Segment Anything, prompted by the box and points (the whole photo when there is no prompt)."""

    handles_prompt = True

    def __init__(self, checkpoint: str):
        p = Path(checkpoint)
        if not p.is_file():
            raise InputError(checkpoint, "SAM checkpoint file does not exist")
        self.checkpoint = str(p)
        self.name = f"sam:{checkpoint}"

    def predict(self, rgb: np.ndarray, prompt: Prompt | None, config: SegmentConfig) -> Prediction:
        import torch

        model, arch, digest = _load(self.checkpoint, Path(self.checkpoint).stat().st_mtime)
        if config.threads > 0:
            torch.set_num_threads(config.threads)
        h, w = rgb.shape[:2]
        s = arch.img_size
        scale = s / max(h, w)
        nh, nw = max(1, int(h * scale + 0.5)), max(1, int(w * scale + 0.5))
        small = Image.fromarray(linear_to_srgb8(rgb, dither=False), "RGB").resize((nw, nh), Image.BILINEAR)
        x = torch.as_tensor(np.array(small)).permute(2, 0, 1)[None].float()
        box = prompt.box if prompt is not None else None
        pts = prompt.points if prompt is not None else ()
        if box is None and not pts:
            box = (0, 0, w, h)  # no prompt: the whole photo is the box
        with torch.inference_mode():
            emb = model.image_encoder(model.preprocess(x))
            points = None
            if pts:
                coords = torch.tensor([[[p[0] * nw / w, p[1] * nh / h] for p in pts]], dtype=torch.float32)
                labels = torch.tensor([[int(p[2]) for p in pts]], dtype=torch.int64)
                points = (coords, labels)
            boxes = None
            if box is not None:
                boxes = torch.tensor([[box[0] * nw / w, box[1] * nh / h, box[2] * nw / w, box[3] * nh / h]],
                                     dtype=torch.float32)
            sparse, dense = model.prompt_encoder(points=points, boxes=boxes, masks=None)
            low, iou = model.mask_decoder(image_embeddings=emb, image_pe=model.prompt_encoder.get_dense_pe(),
                                          sparse_prompt_embeddings=sparse, dense_prompt_embeddings=dense,
                                          multimask_output=True)
            best = int(torch.argmax(iou[0]))
            logits = model.postprocess_masks(low[:, best:best + 1], (nh, nw), (h, w))[0, 0]
            alpha = torch.sigmoid(logits).numpy().astype(np.float32)
            score = float(iou[0, best])
        params = {"checkpoint": Path(self.checkpoint).name, "checkpoint_sha256": digest, "img_size": arch.img_size,
                  "embed_dim": arch.embed_dim, "depth": arch.depth, "mask_index": best}
        return Prediction(alpha=alpha, confidence=float(np.clip(score, 0.0, 1.0)), flags=(), params=params)


@BACKENDS.register("sam", takes_argument=True, doc="Segment Anything with a user checkpoint (segment-anything package)")
def make_sam_backend(checkpoint: str) -> SamBackend:
    """Segment Anything with a user-supplied checkpoint."""
    return SamBackend(checkpoint)
