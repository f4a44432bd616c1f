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

TensorFlow's writer can also compress the whole framed stream (``TFRecordOptions`` ``GZIP``, files
often named ``*.tfrecord.gz``, or ``ZLIB``). The compression is told from the content, not the
name (``compression``): a file whose first 12 bytes are a sound plain header is plain, whatever
they are; otherwise the gzip magic (1f 8b) or a zlib header (0x78, header a multiple of 31) marks
a compressed one. Compressed files are decompressed as a stream and read exactly as plain ones,
with the same checks; their byte offsets are offsets in the decompressed stream (the messages say
so), and a compressed stream that is cut short or corrupt is a ``TFRecordError`` naming the file.
"""

from __future__ import annotations

import gzip
import struct
import zlib
from pathlib import Path
from typing import BinaryIO, Iterator

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


def _plain_header(head: bytes) -> bool:
    """12 bytes that are a TFRecord header: a length and its masked CRC."""
    return len(head) == _HEADER.size and masked_crc(head[:8]) == _HEADER.unpack(head)[1]


def _sniff(head: bytes) -> str:
    """'' (plain), 'gzip' or 'zlib' from a file's first bytes; a sound plain header wins, so a
    plain file whose length happens to look like a gzip or zlib header is never taken for one."""
    if _plain_header(head[:_HEADER.size]):
        return ""
    if head[:2] == b"\x1f\x8b":
        return "gzip"
    if len(head) >= 2 and head[0] == 0x78 and (head[0] * 256 + head[1]) % 31 == 0:
        return "zlib"
    return ""


def compression(path: str | Path) -> str:
    """How the file's record stream is stored: '' (plain), 'gzip' or 'zlib' (by content)."""
    with open(path, "rb") as fh:
        return _sniff(fh.read(_HEADER.size))


def is_tfrecord(path: str | Path) -> bool:
    """A file whose first record header is sound, once decompressed if it is gzip or zlib."""
    try:
        with open(path, "rb") as fh:
            kind = _sniff(fh.read(_HEADER.size))
            fh.seek(0)
            return _plain_header(_open_records(kind, fh).read(_HEADER.size))
    except (EOFError, OSError, zlib.error):
        return False


class _ZlibReader:
    """``read(n)`` over a zlib stream, decompressed a block at a time."""

    def __init__(self, fh: BinaryIO):
        self.fh, self.inflate, self.buf = fh, zlib.decompressobj(), bytearray()

    def read(self, n: int) -> bytes:
        while len(self.buf) < n and not self.inflate.eof:
            block = self.fh.read(1 << 16)
            if not block:
                raise EOFError("the zlib stream ended before its end marker (the file is cut short)")
            self.buf += self.inflate.decompress(block)
        if self.inflate.eof and self.inflate.unused_data:
            raise zlib.error(f"{len(self.inflate.unused_data)} bytes follow the end of the zlib stream")
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out


def _open_records(kind: str, fh: BinaryIO):
    if kind == "gzip":
        return gzip.GzipFile(fileobj=fh, mode="rb")
    if kind == "zlib":
        return _ZlibReader(fh)
    return fh


def iter_records(path: str | Path) -> Iterator[tuple[int, memoryview]]:
    """(byte offset, data) of every record of the file, both CRCs checked; a gzip or zlib file's
    offsets are in its decompressed stream."""
    path = Path(path)
    with open(path, "rb") as fh:
        kind = _sniff(fh.read(_HEADER.size))
        fh.seek(0)
        name = f"{path} ({kind}-compressed; byte offsets in its decompressed stream)" if kind else str(path)
        stream = _open_records(kind, fh)
        at = 0
        try:
            while True:
                head = stream.read(_HEADER.size)
                if not head:
                    return
                if len(head) < _HEADER.size:
                    raise TFRecordError(f"{name}: truncated record header at byte {at} ({len(head)} of "
                                        f"{_HEADER.size} bytes)")
                length, length_crc = _HEADER.unpack(head)
                if masked_crc(head[:8]) != length_crc:
                    raise TFRecordError(f"{name}: record at byte {at}: the length's CRC does not match (a corrupt "
                                        "length field, or not a TFRecord file)")
                if length > MAX_RECORD_BYTES:
                    raise TFRecordError(f"{name}: record at byte {at} claims {length} bytes; refusing it as corrupt")
                body = stream.read(length + _CRC.size)
                if len(body) < length + _CRC.size:
                    raise TFRecordError(f"{name}: record at byte {at} is truncated: {length} bytes of data and a "
                                        f"CRC announced, {len(body)} left in the file")
                data = memoryview(body)[:length]
                if masked_crc(data) != _CRC.unpack_from(body, length)[0]:
                    raise TFRecordError(f"{name}: record at byte {at}: the data's CRC does not match (the record's "
                                        "bytes changed after it was written)")
                yield at, data
                at += _HEADER.size + length + _CRC.size
        except (EOFError, OSError, zlib.error) as exc:
            if not kind:
                raise
            raise TFRecordError(f"{name}: the {kind} stream is cut short or corrupt after byte {at} of its records "
                                f"({exc})") from None


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


def write_tfrecord(path: str | Path, examples, compression: str = "") -> None:
    """Write ``examples`` (dicts as for ``encode_example``) as one TFRecord file, atomically;
    ``compression`` 'gzip' or 'zlib' compresses the stream as TensorFlow's writer options do."""
    from ..utils import atomic_output
    if compression not in ("", "gzip", "zlib"):
        raise ValueError(f"compression {compression!r} is none of '', 'gzip', 'zlib'")
    with atomic_output(path, ".tfrecord") as tmp:
        with open(tmp, "wb") as raw:
            fh = gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) if compression == "gzip" else raw
            deflate = zlib.compressobj() if compression == "zlib" else None
            for features in examples:
                record = frame_record(encode_example(features))
                fh.write(deflate.compress(record) if deflate else record)
            if deflate:
                fh.write(deflate.flush())
            if fh is not raw:
                fh.close()          # the gzip trailer; the file itself closes with the block
