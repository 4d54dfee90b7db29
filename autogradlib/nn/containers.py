"""ModuleList and ModuleDict: modules held in a list or a dict, named '0', '1', ... or by key.

A Module already finds modules in plain lists and dicts; these wrappers add torch's methods and
make the container a module itself (in modules(), apply(), repr), as torch's are.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from autogradlib.nn.module import Module, _format_block, _grouped_lines


def _check_module(container: str, method: str, module) -> None:
    if not isinstance(module, Module):
        raise TypeError(f"{container}.{method}: {type(module).__name__} is not a Module subclass")


class ModuleList(Module):
    """Modules in a list: indexing, slicing, append, extend, insert, pop, len and iteration."""

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        super().__init__()
        self._list: list[Module] = []
        if modules is not None:
            self.extend(modules)

    def _members(self):
        # The modules take the place of the list that holds them, so their names are '0', '1', ...
        for name, value in super()._members():
            if name == "_list":
                yield from ((str(index), module) for index, module in enumerate(value))
            else:
                yield name, value

    def _set_child(self, name: str, module: Module) -> None:
        if name.isdigit() and int(name) < len(self._list):
            self._list[int(name)] = module
        elif name == str(len(self._list)):
            self._list.append(module)
        else:
            raise KeyError(f"ModuleList: cannot add module {name!r}; use append or insert")

    def _index(self, index: int) -> int:
        if not isinstance(index, int):
            raise TypeError(f"ModuleList indices must be integers or slices, not {type(index)}")
        if not -len(self._list) <= index < len(self._list):
            raise IndexError(f"index {index} is out of range")
        return index % len(self._list)

    def __getitem__(self, index: int | slice):
        if isinstance(index, slice):
            return type(self)(self._list[index])
        return self._list[self._index(index)]

    def __setitem__(self, index: int, module: Module) -> None:
        _check_module("ModuleList", "__setitem__", module)
        self._list[self._index(index)] = module

    def __delitem__(self, index: int | slice) -> None:
        if isinstance(index, slice):
            del self._list[index]
        else:
            del self._list[self._index(index)]

    def __len__(self) -> int:
        return len(self._list)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._list)

    def __iadd__(self, modules: Iterable[Module]) -> ModuleList:
        return self.extend(modules)

    def __add__(self, other: ModuleList) -> ModuleList:
        return ModuleList([*self, *other])

    def append(self, module: Module) -> ModuleList:
        """Add `module` at the end."""
        _check_module("ModuleList", "append", module)
        self._list.append(module)
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        """Add each of `modules` at the end."""
        if isinstance(modules, (Module, Mapping)) or not isinstance(modules, Iterable):
            raise TypeError(
                f"ModuleList.extend should be called with an iterable of modules, but got "
                f"{type(modules).__name__}"
            )
        for module in modules:
            self.append(module)
        return self

    def insert(self, index: int, module: Module) -> None:
        """Put `module` before position `index`."""
        _check_module("ModuleList", "insert", module)
        self._list.insert(index, module)

    def pop(self, index: int = -1) -> Module:
        """Remove and return the module at `index`."""
        return self._list.pop(self._index(index))

    def __repr__(self) -> str:
        entries = [(str(index), repr(module)) for index, module in enumerate(self._list)]
        return _format_block(type(self).__name__, [], _grouped_lines(entries))


class ModuleDict(Module):
    """Modules by name, in insertion order: [key], keys, items, values, update, pop, len, in."""

    def __init__(self, modules: Mapping[str, Module] | Iterable | None = None) -> None:
        super().__init__()
        self._dict: dict[str, Module] = {}
        if modules is not None:
            self.update(modules)

    def _members(self):
        for name, value in super()._members():
            if name == "_dict":
                yield from value.items()
            else:
                yield name, value

    def _set_child(self, name: str, module: Module) -> None:
        self._dict[name] = module

    def __getattr__(self, name: str):
        # Only reached when normal lookup fails: model.blocks.conv, as torch allows.
        entries = self.__dict__.get("_dict", {})
        if name in entries:
            return entries[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __getitem__(self, key: str) -> Module:
        return self._dict[key]

    def __setitem__(self, key: str, module: Module) -> None:
        if not isinstance(key, str):
            raise TypeError(f"ModuleDict: module name should be a string, got {type(key)}")
        if not key or "." in key:
            raise KeyError(f"ModuleDict: module name can't be empty or contain '.', got {key!r}")
        _check_module("ModuleDict", "__setitem__", module)
        self._dict[key] = module

    def __delitem__(self, key: str) -> None:
        del self._dict[key]

    def __len__(self) -> int:
        return len(self._dict)

    def __iter__(self) -> Iterator[str]:
        return iter(self._dict)

    def __contains__(self, key: str) -> bool:
        return key in self._dict

    def keys(self):
        """The names, in insertion order."""
        return self._dict.keys()

    def items(self):
        """(name, module) pairs, in insertion order."""
        return self._dict.items()

    def values(self):
        """The modules, in insertion order."""
        return self._dict.values()

    def clear(self) -> None:
        """Remove every module."""
        self._dict.clear()

    def pop(self, key: str) -> Module:
        """Remove the module named `key` and return it."""
        return self._dict.pop(key)

    def update(self, modules: Mapping[str, Module] | Iterable) -> None:
        """Add or replace modules from a mapping or an iterable of (name, module) pairs."""
        if isinstance(modules, (Mapping, ModuleDict)):
            pairs = list(modules.items())
        else:
            pairs = []
            for index, pair in enumerate(modules):
                if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                    raise ValueError(
                        f"ModuleDict update sequence element #{index} should be a (name, module) "
                        f"pair, got {pair!r}"
                    )
                pairs.append(tuple(pair))
        for key, module in pairs:
            self[key] = module
