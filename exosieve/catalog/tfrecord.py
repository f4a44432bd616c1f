"""TFRecord files of ``tf.train.Example`` records, read and written without TensorFlow.

Astronet's, Yu et al.'s, DART-Vetter's and ExoMiner's view datasets are published this way. A file
is a sequence of records, each framed as

    uint64 length (little-endian) | uint32 masked CRC-32C of those 8 bytes | data | uint32 masked CRC-32C of data

and each record's data is a serialized ``tf.train.Example``: a map from feature name to a
``BytesList`` (field 1), ``FloatList`` (2, packed float32) or ``Int64List`` (3, packed varints).
Both CRCs are checked: a record that is cut short or whose bytes changed is an error naming the
file and the record's byte offset (``TFRecordError``), never skipped or read in part. A record
whose frame is sound but whose protobuf does not parse as an Example raises ``ExampleError``, which
a caller may record against that one record and go on.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Iterator

import google_crc32c
import numpy as np

_MASK_DELTA = 0xA282EAD8
_HEADER = struct.Struct("<QI")
_CRC = struct.Struct("<I")
# A length beyond this is a corrupt frame, not a record (the largest view datasets hold a few KB each).
MAX_RECORD_BYTES = 1 << 30


class TFRecordError(ValueError):
    """A TFRecord file whose framing is broken: truncated, or a length or data CRC that does not match."""


class ExampleError(ValueError):
    """A record whose bytes are not a ``tf.train.Example``."""


def masked_crc(data: bytes) -> int:
    """TFRecord's masked CRC-32C (Castagnoli): rotate right by 15 bits, add a constant."""
    crc = google_crc32c.value(bytes(data))
    return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF


def iter_records(path: str | Path) -> Iterator[tuple[int, memoryview]]:
    """(byte offset, data) of every record of the file, both CRCs checked."""
    path = Path(path)
    buf = memoryview(path.read_bytes())
    at, size = 0, len(buf)
    while at < size:
        if size - at < _HEADER.size:
            raise TFRecordError(f"{path}: truncated record header at byte {at} ({size - at} of {_HEADER.size} bytes)")
        length, length_crc = _HEADER.unpack_from(buf, at)
        if masked_crc(buf[at:at + 8]) != length_crc:
            raise TFRecordError(f"{path}: record at byte {at}: the length's CRC does not match (a corrupt "
                                "length field, or not a TFRecord file)")
        if length > MAX_RECORD_BYTES:
            raise TFRecordError(f"{path}: record at byte {at} claims {length} bytes; refusing it as corrupt")
        end = at + _HEADER.size + length
        if end + _CRC.size > size:
            raise TFRecordError(f"{path}: record at byte {at} is truncated: {length} bytes of data and a CRC "
                                f"announced, {size - at - _HEADER.size} left in the file")
        data = buf[at + _HEADER.size:end]
        if masked_crc(data) != _CRC.unpack_from(buf, end)[0]:
            raise TFRecordError(f"{path}: record at byte {at}: the data's CRC does not match (the record's bytes "
                                "changed after it was written)")
        yield at, data
        at = end + _CRC.size


# --- protobuf wire format: only what tf.train.Example needs -----------------------------------

def _varint(buf: memoryview, at: int, end: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if at >= end or shift > 63:
            raise ExampleError("a varint runs past its field")
        byte = buf[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, at
        shift += 7


def _fields(buf: memoryview, at: int = 0, end: int | None = None) -> Iterator[tuple[int, int, int, int]]:
    """(field number, wire type, value or start, end) of each field in ``buf[at:end]``; for a
    length-delimited field the value is its start offset."""
    end = len(buf) if end is None else end
    while at < end:
        key, at = _varint(buf, at, end)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, at = _varint(buf, at, end)
            yield number, wire, value, at
        elif wire == 2:
            length, at = _varint(buf, at, end)
            if at + length > end:
                raise ExampleError(f"field {number} runs past its message")
            yield number, wire, at, at + length
            at += length
        elif wire in (1, 5):
            width = 8 if wire == 1 else 4
            if at + width > end:
                raise ExampleError(f"field {number} runs past its message")
            yield number, wire, at, at + width
            at += width
        else:
            raise ExampleError(f"wire type {wire} of field {number} is not protobuf's")


def _int64(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def _feature(buf: memoryview, start: int, end: int) -> np.ndarray | list[bytes]:
    for kind, wire, s, e in _fields(buf, start, end):
        if kind == 1 and wire == 2:          # BytesList: repeated bytes value = 1
            return [bytes(buf[vs:ve]) for n, w, vs, ve in _fields(buf, s, e) if n == 1 and w == 2]
        if kind == 2 and wire == 2:          # FloatList: repeated float value = 1 [packed]
            parts = []
            for n, w, vs, ve in _fields(buf, s, e):
                if n != 1 or w not in (2, 5):
                    continue
                if (ve - vs) % 4:
                    raise ExampleError("a packed float list is not a whole number of floats")
                parts.append(np.frombuffer(buf[vs:ve], "<f4"))
            return np.concatenate(parts) if parts else np.zeros(0, np.float32)
        if kind == 3 and wire == 2:          # Int64List: repeated int64 value = 1 [packed]
            values = []
            for n, w, vs, ve in _fields(buf, s, e):
                if n == 1 and w == 0:
                    values.append(_int64(vs))
                elif n == 1 and w == 2:
                    at = vs
                    while at < ve:
                        v, at = _varint(buf, at, ve)
                        values.append(_int64(v))
            return np.array(values, np.int64)
    return np.zeros(0, np.float32)           # a Feature with no kind set: an empty list


def parse_example(data: bytes | memoryview) -> dict[str, np.ndarray | list[bytes]]:
    """A serialized ``tf.train.Example`` as {name: float32 array | int64 array | list of bytes}."""
    buf = memoryview(data)
    out: dict = {}
    try:
        for n, w, s, e in _fields(buf):
            if n != 1 or w != 2:             # Example.features
                continue
            for n2, w2, s2, e2 in _fields(buf, s, e):
                if n2 != 1 or w2 != 2:       # Features.feature: map entries
                    continue
                name, value = None, np.zeros(0, np.float32)
                for n3, w3, s3, e3 in _fields(buf, s2, e2):
                    if n3 == 1 and w3 == 2:
                        name = bytes(buf[s3:e3]).decode("utf-8")
                    elif n3 == 2 and w3 == 2:
                        value = _feature(buf, s3, e3)
                if name is None:
                    raise ExampleError("a feature without a name")
                out[name] = value
    except UnicodeDecodeError as exc:
        raise ExampleError(f"a feature name is not UTF-8 ({exc.reason})") from None
    return out


def read_examples(path: str | Path) -> Iterator[tuple[int, dict | ExampleError]]:
    """(byte offset, parsed Example or the ExampleError saying why it is none) of every record."""
    for offset, data in iter_records(path):
        try:
            yield offset, parse_example(data)
        except ExampleError as exc:
            yield offset, exc


# --- writing (tests, fuzzing, and exporting views in the format peers read) -------------------

def _encode_varint(value: int) -> bytes:
    value &= (1 << 64) - 1
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _delimited(number: int, payload: bytes) -> bytes:
    return _encode_varint(number << 3 | 2) + _encode_varint(len(payload)) + payload


def encode_example(features: dict) -> bytes:
    """A ``tf.train.Example`` of ``features``: floats become a FloatList, integers an Int64List,
    bytes and strings a BytesList."""
    entries = b""
    for name, value in features.items():
        if isinstance(value, (str, bytes)):
            value = [value]
        if isinstance(value, (list, tuple)) and value and isinstance(value[0], (str, bytes)):
            items = b"".join(_delimited(1, v.encode() if isinstance(v, str) else v) for v in value)
            feature = _delimited(1, items)
        else:
            array = np.atleast_1d(np.asarray(value))
            if array.dtype.kind in "iub":
                feature = _delimited(3, _delimited(1, b"".join(_encode_varint(int(v)) for v in array)))
            else:
                feature = _delimited(2, _delimited(1, array.astype("<f4").tobytes()))
        entries += _delimited(1, _delimited(1, name.encode()) + _delimited(2, feature))
    return _delimited(1, entries)


def frame_record(data: bytes) -> bytes:
    """One record's bytes in a TFRecord file."""
    length = struct.pack("<Q", len(data))
    return length + _CRC.pack(masked_crc(length)) + data + _CRC.pack(masked_crc(data))


def write_tfrecord(path: str | Path, examples) -> None:
    """Write ``examples`` (dicts as for ``encode_example``) as one TFRecord file, atomically."""
    from ..utils import atomic_output
    with atomic_output(path, ".tfrecord") as tmp:
        with open(tmp, "wb") as fh:
            for features in examples:
                fh.write(frame_record(encode_example(features)))
