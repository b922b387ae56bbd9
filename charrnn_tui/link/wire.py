"""The wire format between a run and its clients: length-prefixed JSON, typed, never pickled.

A frame is a 4-byte big-endian length and that many bytes of UTF-8 JSON, one object per
frame: `{"$t": NAME, ...fields}`, NAME one of the message types `protocol.py` registers for
that direction. Values are written from what they are and read back by the type the message
declares for each field, so nothing is ever instantiated that the declaration does not name:

- bool, int, float (NaN and infinities as JSON's NaN / Infinity), str, None;
- tuples as lists, dict[str, X] as objects, StrEnums by value;
- a frozen dataclass as an object with its fields and `"$t"`, its registered name (a field
  may declare a union of dataclasses, so the name says which one came);
- a numpy array as `{"$a": [dtype, shape, base64 of the raw little-endian bytes]}`, its dtype
  and number of dimensions checked against the `ArraySpec` the protocol gives that field, and
  its byte count against its shape before anything is decoded.

Whatever does not fit raises `WireError` with a one-line reason, never anything else.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import enum
import json
import math
import struct
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

HEADER = struct.Struct(">I")  # the frame's length in bytes


class WireError(ValueError):
    """A frame or value that does not fit the protocol; the message is one line."""


@dataclass(frozen=True)
class ArraySpec:
    """What an array field may hold: its dtypes (numpy's little-endian names) and numbers of
    dimensions."""

    dtypes: tuple[str, ...]
    ndims: tuple[int, ...]


FLOATS = ("<f8", "<f4")
INTS = ("<i8", "<i4")


class Codec:
    """Encodes and decodes the registered message types of one protocol.

    `types` maps a name to a frozen dataclass (the messages and every record inside them);
    `arrays` maps (dataclass, field) to the ArraySpec of each numpy field. A numpy field
    without a spec is refused when the codec is built, so every array that crosses the wire
    has declared bounds.
    """

    def __init__(self, types_: dict[str, type], arrays: dict[tuple[type, str], ArraySpec]):
        self.types = dict(types_)
        self.names = {cls: name for name, cls in self.types.items()}
        self.arrays = dict(arrays)
        self._hints: dict[type, dict[str, object]] = {}
        for cls in self.types.values():
            if not (dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen):
                raise TypeError(f"{cls.__name__} is not a frozen dataclass")
            for name, hint in self.hints(cls).items():
                if _mentions_array(hint) and (cls, name) not in self.arrays:
                    raise TypeError(f"{cls.__name__}.{name} holds arrays without an ArraySpec")

    def hints(self, cls: type) -> dict[str, object]:
        """The declared type of each init field of `cls` (cached)."""
        hints = self._hints.get(cls)
        if hints is None:
            resolved = typing.get_type_hints(cls)
            hints = {f.name: resolved[f.name] for f in dataclasses.fields(cls) if f.init}
            self._hints[cls] = hints
        return hints

    # -- frames ------------------------------------------------------------------------------

    def frame(self, message: object) -> bytes:
        """One message as a frame: its length, then its JSON."""
        body = json.dumps(self.encode(message), separators=(",", ":"),
                          ensure_ascii=False).encode("utf-8")
        return HEADER.pack(len(body)) + body

    def message(self, body: bytes, accept: dict[str, type]) -> object:
        """The message in a frame's body; `accept` names the types this side may receive."""
        try:
            raw = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise WireError(f"not a JSON message: {type(exc).__name__}") from None
        if not isinstance(raw, dict):
            raise WireError("a message must be a JSON object")
        name = raw.get("$t")
        if not isinstance(name, str) or name not in accept:
            raise WireError(f"unknown message type {str(name)[:40]!r}")
        return self.decode(raw, accept[name])

    # -- values ------------------------------------------------------------------------------

    def encode(self, value: object) -> object:
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, np.bool_):
            return bool(value)
        if isinstance(value, enum.Enum):
            return value.value
        if isinstance(value, (int, np.integer)):
            return int(value)
        if isinstance(value, (float, np.floating)):
            return float(value)
        if isinstance(value, np.ndarray):
            data = np.ascontiguousarray(value, dtype=value.dtype.newbyteorder("<"))
            return {"$a": [data.dtype.str, list(data.shape),
                           base64.b64encode(data.tobytes()).decode("ascii")]}
        if isinstance(value, (tuple, list)):
            return [self.encode(v) for v in value]
        if isinstance(value, dict):
            return {str(k): self.encode(v) for k, v in value.items()}
        name = self.names.get(type(value))
        if name is None:
            raise WireError(f"{type(value).__name__} is not a registered wire type")
        out = {"$t": name}
        for field in self.hints(type(value)):
            out[field] = self.encode(getattr(value, field))
        return out

    def decode(self, raw: object, hint: object, spec: ArraySpec | None = None,
               where: str = "message") -> object:
        """`raw` (parsed JSON) as a value of the declared type `hint`."""
        origin = typing.get_origin(hint)
        if hint is type(None) or hint is None:
            if raw is not None:
                raise WireError(f"{where}: expected null")
            return None
        if origin in (typing.Union, types.UnionType):
            return self._union(raw, typing.get_args(hint), spec, where)
        if hint is bool:
            if not isinstance(raw, bool):
                raise WireError(f"{where}: expected true or false")
            return raw
        if hint is int:
            if isinstance(raw, bool) or not isinstance(raw, int):
                raise WireError(f"{where}: expected an integer")
            return raw
        if hint is float:
            if isinstance(raw, bool) or not isinstance(raw, (int, float)):
                raise WireError(f"{where}: expected a number")
            try:
                return float(raw)
            except OverflowError:
                raise WireError(f"{where}: a number out of range") from None
        if hint is str:
            if not isinstance(raw, str):
                raise WireError(f"{where}: expected a string")
            return raw
        if hint is np.ndarray:
            return self._array(raw, spec, where)
        if origin is tuple:
            return self._tuple(raw, typing.get_args(hint), spec, where)
        if origin is dict:
            key, item = typing.get_args(hint)
            if key is not str or not isinstance(raw, dict):
                raise WireError(f"{where}: expected an object")
            return {k: self.decode(v, item, spec, f"{where}.{k[:20]}") for k, v in raw.items()}
        if isinstance(hint, type) and issubclass(hint, enum.Enum):
            try:
                return hint(raw)
            except ValueError:
                raise WireError(f"{where}: {str(raw)[:40]!r} is not a {hint.__name__}") from None
        if isinstance(hint, type) and hint in self.names:
            return self._record(raw, hint, where)
        raise WireError(f"{where}: the protocol declares no way to read {hint!r}")

    def _union(self, raw: object, options: tuple, spec: ArraySpec | None, where: str) -> object:
        if raw is None:
            if type(None) in options:
                return None
            raise WireError(f"{where}: expected a value, got null")
        if isinstance(raw, dict) and "$t" in raw:  # a record: its name picks the option
            for option in options:
                if isinstance(option, type) and self.names.get(option) == raw["$t"]:
                    return self._record(raw, option, where)
            raise WireError(f"{where}: {str(raw['$t'])[:40]!r} is not allowed here")
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return self.decode(raw, option, spec, where)
            except WireError as exc:
                errors.append(str(exc))
        raise WireError(errors[0] if errors else f"{where}: no option fits")

    def _tuple(self, raw: object, args: tuple, spec: ArraySpec | None, where: str) -> tuple:
        if not isinstance(raw, list):
            raise WireError(f"{where}: expected a list")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(self.decode(v, args[0], spec, f"{where}[{k}]")
                         for k, v in enumerate(raw))
        if len(raw) != len(args):
            raise WireError(f"{where}: expected {len(args)} items, got {len(raw)}")
        return tuple(self.decode(v, a, spec, f"{where}[{k}]")
                     for k, (v, a) in enumerate(zip(raw, args)))

    def _record(self, raw: object, cls: type, where: str) -> object:
        if not isinstance(raw, dict) or raw.get("$t") != self.names[cls]:
            raise WireError(f"{where}: expected a {self.names[cls]}")
        hints = self.hints(cls)
        unknown = set(raw) - set(hints) - {"$t"}
        if unknown:
            raise WireError(f"{where}: unknown field {sorted(unknown)[0][:40]!r}")
        values = {}
        for name, hint in hints.items():
            if name in raw:
                values[name] = self.decode(raw[name], hint, self.arrays.get((cls, name)),
                                           f"{self.names[cls]}.{name}")
        try:
            return cls(**values)
        except WireError:
            raise
        except (TypeError, ValueError) as exc:  # a missing field, or the record's own checks
            raise WireError(f"{where}: {_one_line(exc)}") from None

    def _array(self, raw: object, spec: ArraySpec | None, where: str) -> np.ndarray:
        if spec is None:
            raise WireError(f"{where}: no array is allowed here")
        if not (isinstance(raw, dict) and set(raw) == {"$a"} and isinstance(raw["$a"], list)
                and len(raw["$a"]) == 3):
            raise WireError(f"{where}: expected an array")
        dtype, shape, data = raw["$a"]
        if dtype not in spec.dtypes:
            raise WireError(f"{where}: dtype {str(dtype)[:12]!r} is not one of "
                            f"{', '.join(spec.dtypes)}")
        if (not isinstance(shape, list) or len(shape) not in spec.ndims
                or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0
                           for d in shape)):
            raise WireError(f"{where}: expected a shape of "
                            f"{' or '.join(map(str, spec.ndims))} sizes")
        if not isinstance(data, str):
            raise WireError(f"{where}: expected base64 data")
        size = math.prod(shape) * np.dtype(dtype).itemsize
        if len(data) != 4 * math.ceil(size / 3):  # checked before a byte is decoded
            raise WireError(f"{where}: {len(data)} base64 characters do not hold {size} bytes")
        try:
            buffer = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            raise WireError(f"{where}: not base64") from None
        if len(buffer) != size:
            raise WireError(f"{where}: {len(buffer)} bytes do not fill shape {shape}")
        array = np.frombuffer(buffer, dtype=np.dtype(dtype)).reshape(shape)
        return array.astype(array.dtype.newbyteorder("="), copy=False)


def _mentions_array(hint: object) -> bool:
    if hint is np.ndarray:
        return True
    return any(_mentions_array(a) for a in typing.get_args(hint))


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200] or type(exc).__name__


Reader = Callable[[int], bytes]


def read_frame(read_exactly: Reader, limit: int) -> bytes:
    """The body of the next frame from a blocking reader (`read_exactly(n)` returns n bytes
    or raises EOFError); a length over `limit` is refused before anything is read."""
    (length,) = HEADER.unpack(read_exactly(HEADER.size))
    if length > limit:
        raise WireError(f"a message of {length} bytes is over the limit of {limit}")
    return read_exactly(length)
