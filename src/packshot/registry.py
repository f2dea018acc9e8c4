"""Name registries for backends: they feed both the code and the CLI's choices.

A backend name may carry an argument after a colon (``onnx:/models/isnet.onnx``,
``sam:/ckpt/sam_vit_b.pth``); the factory registered under the prefix receives it.
"""

from __future__ import annotations

from typing import Any, Callable, Generic, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    """A mapping from backend names to factories.

    Parameters
    ----------
    kind : str
        What the registry holds ("segment backend", ...), used in error messages.
    """

    def __init__(self, kind: str):
        self.kind = kind
        self._factories: dict[str, Callable[..., T]] = {}
        self._takes_argument: dict[str, bool] = {}
        self._docs: dict[str, str] = {}
        self._traits: dict[str, dict[str, Any]] = {}

    def register(self, name: str, *, takes_argument: bool = False, doc: str = "", **traits: Any):
        """Decorator registering ``factory`` under ``name``.

        With ``takes_argument`` the name is used as ``name:ARG`` and the factory is called
        with ``ARG`` as its first positional argument. ``traits`` are facts about the backend
        that callers need before building it (e.g. ``batch=4`` for a renderer that paints
        several frames in one call); read them with :meth:`trait`.
        """

        def decorator(factory: Callable[..., T]) -> Callable[..., T]:
            if name in self._factories:
                raise ValueError(f"{self.kind} '{name}' is already registered")
            self._factories[name] = factory
            self._takes_argument[name] = takes_argument
            self._docs[name] = doc or (factory.__doc__ or "").strip().split("\n")[0]
            self._traits[name] = dict(traits)
            return factory

        return decorator

    def names(self) -> list[str]:
        """Registered names, those taking an argument shown as ``name:ARG``."""
        return [f"{n}:ARG" if self._takes_argument[n] else n for n in self._factories]

    def trait(self, spec: str, key: str, default: Any = None) -> Any:
        """A trait the backend named by ``spec`` was registered with, else ``default``."""
        return self._traits.get(str(spec).partition(":")[0], {}).get(key, default)

    def describe(self) -> dict[str, str]:
        return {n: self._docs[n] for n in self._factories}

    def create(self, spec: str, **kwargs: Any) -> T:
        """Build the backend named by ``spec`` (``name`` or ``name:ARG``)."""
        if not isinstance(spec, str) or not spec:
            raise ValueError(f"{self.kind} name must be a non-empty string, got {spec!r}")
        name, sep, arg = spec.partition(":")
        if name not in self._factories:
            raise ValueError(
                f"unknown {self.kind} '{name}'; choose one of: {', '.join(self.names())}"
            )
        if self._takes_argument[name]:
            if not sep or not arg:
                raise ValueError(f"{self.kind} '{name}' needs an argument: use '{name}:ARG'")
            return self._factories[name](arg, **kwargs)
        if sep:
            raise ValueError(f"{self.kind} '{name}' takes no argument, got '{spec}'")
        return self._factories[name](**kwargs)

    def __contains__(self, spec: str) -> bool:
        return spec.partition(":")[0] in self._factories
