"""Model aliases (``--model-alias rerank-v3.5=default``): other names clients may send for a served model."""

from __future__ import annotations

from toolrank.errors import ConfigError


class ModelAliases:
    """Maps an alias to a served model's name ("default" stands for the default model)."""

    def __init__(self, aliases: tuple[tuple[str, str], ...] = ()) -> None:
        self._map = dict(aliases)

    def resolve(self, name: str) -> str:
        """The served name for ``name`` ("" = the default model); unknown names pass through unchanged."""
        target = self._map.get(name)
        if target is None:
            return name
        return "" if target == "default" else target

    def names(self) -> list[str]:
        return sorted(self._map)

    def check(self, served: list[str]) -> None:
        """ConfigError when an alias points at no served model, or hides one."""
        for alias, target in self._map.items():
            if target != "default" and target not in served:
                raise ConfigError(f"--model-alias {alias}={target}: {target!r} is not served "
                                  f"(served: {', '.join(sorted(served))}; or 'default')")
            if alias in served:
                raise ConfigError(f"--model-alias {alias}={target}: {alias!r} is already a served model's name")
