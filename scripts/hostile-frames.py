#!/usr/bin/env python3
"""Writes one hostile frame class of issue 9 at full size, for scripts/bench-memory.sh:
each a capture of one TCP connection (raw-IP pcap) whose frames ask the per-frame budget
(limits::Limits) for far more than it allows.

  inflate     a PULL_MESSAGE response of 200 stored messages, each a zlib body inflating
              to 64 MiB (12.5 GiB together; max_inflated_per_frame is 32 MiB),
  batch       a SEND_BATCH_MESSAGE of 760,000 empty items in one 16 MB frame
              (max_messages_per_frame 8,192),
  properties  a SEND_MESSAGE_V2 whose properties (extFields `i`) hold 1,000,000 entries
              (max_properties 1,024), in a ROCKETMQ (binary) header,
  ext-fields  a request whose header has 1,000,000 extFields keys (max_ext_fields 1,024),
              in a ROCKETMQ (binary) header.

The binary header (RocketMQSerializable.rocketMQProtocolEncode) carries control bytes
unescaped, so a million entries fit under the 16 MiB frame limit.

Usage: scripts/hostile-frames.py CLASS OUT.pcap
"""
import json, struct, sys, zlib

def item(body, props=b''):
    total = 20 + len(body) + 2 + len(props)
    return struct.pack('>iiiii', total, 0, 0, 0, len(body)) + body + struct.pack('>h', len(props)) + props

def frame(code, opaque, ext, body, flag=0):
    h = json.dumps({"code": code, "language": "JAVA", "version": 401, "opaque": opaque,
                    "flag": flag, "extFields": ext}, separators=(',', ':')).encode()
    return struct.pack('>iI', 4 + len(h) + len(body), len(h)) + h + body

def binary_frame(code, opaque, ext, body=b'', flag=0):
    """ext: list of (key bytes, value bytes)."""
    e = b''.join(struct.pack('>h', len(k)) + k + struct.pack('>i', len(v)) + v for k, v in ext)
    h = struct.pack('>hbhii', code, 0, 401, opaque, flag) + struct.pack('>i', 0) + struct.pack('>i', len(e)) + e
    return struct.pack('>iI', 4 + len(h) + len(body), (1 << 24) | len(h)) + h + body

def stored(off, sysflag, body):
    r = struct.pack('>iIiiiqqiq', 0, 0xDAA320A7, 0, 1, 0, off, 4096 + off, sysflag, 1700000000000) \
        + bytes([10, 0, 0, 5]) + struct.pack('>iq', 40000, 1700000000001) + bytes([10, 0, 0, 9]) \
        + struct.pack('>iiq', 10911, 0, 0) + struct.pack('>i', len(body)) + body + bytes([1]) + b'T' \
        + struct.pack('>h', 0)
    return struct.pack('>i', len(r)) + r[4:]

cls, path = sys.argv[1], sys.argv[2]
frames = []  # (bytes, client to server)
if cls == 'inflate':
    z = zlib.compress(b'z' * (64 << 20), 9)
    frames.append((frame(11, 2, {"topic": "T", "queueId": "1", "consumerGroup": "G"}, b''), True))
    frames.append((frame(0, 2, {}, b''.join(stored(i, 1, z) for i in range(200)), flag=1), False))
elif cls == 'batch':
    batch = item(b'') * 760_000
    frames.append((frame(320, 1, {"a": "PG", "b": "T", "e": "0", "m": "true"}, batch), True))
elif cls == 'properties':
    props = b''.join(b'%x\x01v\x02' % i for i in range(1_000_000))
    ext = [(b'a', b'PG'), (b'b', b'T'), (b'e', b'0'), (b'f', b'0'), (b'i', props)]
    frames.append((binary_frame(310, 3, ext, b'x'), True))
elif cls == 'ext-fields':
    ext = [(b'k%x' % i, b'') for i in range(1_000_000)]
    frames.append((binary_frame(310, 4, ext, b'x'), True))
else:
    sys.exit('usage: hostile-frames.py inflate|batch|properties|ext-fields OUT.pcap')
for f, _ in frames:
    assert len(f) - 4 <= 16_777_212, (cls, len(f))

out = open(path, 'wb')
out.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 101))
seq = {0: 1000, 1: 5000}
ts = 1
for data, c2s in frames:
    src, dst, sp, dp = ((b'\x0a\x00\x00\x05', b'\x0a\x00\x00\x09', 40000, 10911) if c2s
                        else (b'\x0a\x00\x00\x09', b'\x0a\x00\x00\x05', 10911, 40000))
    i = 0 if c2s else 1
    for k in range(0, len(data), 1400):
        chunk = data[k:k + 1400]
        tcp = struct.pack('>HHIIBBHHH', sp, dp, seq[i], seq[1 - i], 5 << 4, 0x18, 65535, 0, 0)
        ip = struct.pack('>BBHHHBBH4s4s', 0x45, 0, 20 + 20 + len(chunk), 0, 0x4000, 64, 6, 0, src, dst)
        pkt = ip + tcp + chunk
        out.write(struct.pack('<IIII', ts, 0, len(pkt), len(pkt)) + pkt)
        seq[i] += len(chunk)
    ts += 1
out.close()
