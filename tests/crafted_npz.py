"""Writing `.npz` files that lie: members whose npy header and zip entry claim far more data
than the file holds, as a deflate bomb does (a deflated member may honestly expand 1000-fold).

`write_npz(path, arrays, claims)` writes `arrays` as they are and, for each name in `claims`,
a member whose header says (dtype, shape) and whose zip entry declares exactly that many
bytes, while its deflated stream holds only the header and a few zeros. Reading the header
is cheap; decoding the member would allocate all it claims. A reader must refuse it first.
"""

from __future__ import annotations

import io
import math
import struct
import zlib
from pathlib import Path

import numpy as np

_ZIP64 = 0xFFFFFFFF


def _npy(header: dict, body: bytes) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array_header_2_0(buf, header)
    return buf.getvalue() + body


def _real(array: np.ndarray) -> tuple[bytes, int]:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.asanyarray(array), allow_pickle=False)
    data = buf.getvalue()
    return data, len(data)


def _claim(dtype, shape: tuple[int, ...]) -> tuple[bytes, int]:
    dtype = np.dtype(dtype)
    header = {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False,
              "shape": tuple(shape)}
    head = _npy(header, b"")
    return head + bytes(64), len(head) + math.prod(shape) * dtype.itemsize


def write_npz(path: Path, arrays: dict[str, np.ndarray],
              claims: dict[str, tuple[object, tuple[int, ...]]]) -> Path:
    """An npz of `arrays`, plus a lying member per name in `claims` (name -> (dtype, shape))."""
    members = [(name + ".npy", *_real(a)) for name, a in arrays.items()]
    members += [(name + ".npy", *_claim(dtype, shape)) for name, (dtype, shape) in claims.items()]
    out, central = bytearray(), bytearray()
    for name, data, size in members:
        raw = name.encode()
        packer = zlib.compressobj(9, zlib.DEFLATED, -15)
        packed = packer.compress(data) + packer.flush()
        crc = zlib.crc32(data)  # of what is there: checked only by a reader that reads it all
        big = size >= _ZIP64
        extra = struct.pack("<HHQ", 1, 8, size) if big else b""
        declared = _ZIP64 if big else size
        offset = len(out)
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, 8, 0, 0, crc, len(packed),
                           declared, len(raw), len(extra)) + raw + extra + packed
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, 8, 0, 0, crc,
                               len(packed), declared, len(raw), len(extra), 0, 0, 0, 0,
                               offset) + raw + extra
    start = len(out)
    out += central
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central),
                       start, 0)
    Path(path).write_bytes(bytes(out))
    return Path(path)


def arrays_of(path: Path) -> dict[str, np.ndarray]:
    """Every member of a real checkpoint, decoded (to edit and write again)."""
    with np.load(path, allow_pickle=False) as npz:
        return {name: npz[name] for name in npz.files}
