#!/usr/bin/env python3
"""Builds the VLAN frames (hex for text2pcap) and the damaged fixtures from
eth20.pcap (editcap -F pcap -r bruteforce/capture_gw_ext.pcap eth20.pcap 1-20)
and two_interfaces.pcapng. Run from this directory; see README.txt."""
import struct, subprocess

def csum(b):
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s > 0xffff:
        s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff

def vlan_frames():
    dst, src = bytes.fromhex('029900010003'), bytes.fromhex('029900020066')
    payload = b'tripline'
    udp = struct.pack('!HHHH', 5353, 53, 8 + len(payload), 0) + payload
    ip = bytearray(struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(udp), 0x1234, 0x4000, 61, 17, 0,
                               bytes([10, 99, 2, 66]), bytes([10, 99, 1, 3])))
    ip[10:12] = struct.pack('!H', csum(bytes(ip)))
    qinq = dst + src + bytes.fromhex('88a80064') + bytes.fromhex('810000c8') + b'\x08\x00' + bytes(ip) + udp
    icmp6 = bytes([128, 0, 0, 0]) + struct.pack('!HH', 0x4242, 7) + b'ping'
    ip6 = struct.pack('!IHBB', 0x60000000, len(icmp6), 58, 64) + bytes.fromhex('fd990002' + '0' * 22 + '66') \
        + bytes.fromhex('fd990001' + '0' * 22 + '03') + icmp6
    dot1q = dst + src + bytes.fromhex('81000007') + b'\x86\xdd' + ip6
    arp = b'\xff' * 6 + src + bytes.fromhex('81000007') + b'\x08\x06' + bytes.fromhex('0001080006040001') \
        + src + bytes([10, 99, 2, 66]) + b'\x00' * 6 + bytes([10, 99, 1, 3])
    with open('/tmp/vlan.txt', 'w') as f:
        for frame in (qinq, dot1q, arp):
            for i in range(0, len(frame), 16):
                f.write('%06x %s\n' % (i, ' '.join('%02x' % b for b in frame[i:i + 16])))
    subprocess.run(['text2pcap', '-q', '-F', 'pcap', '-t', '%s', '/tmp/vlan.txt', 'vlan_qinq.pcap'], check=True)

def records(data):
    out, o = [], 24
    while o + 16 <= len(data):
        caplen = struct.unpack_from('<I', data, o + 8)[0]
        out.append((o, caplen))
        o += 16 + caplen
    return out

def damaged():
    data = open('eth20.pcap', 'rb').read()
    recs = records(data)
    open('bad_magic.pcap', 'wb').write(b'XXXX' + data[4:])
    # cut in the middle of record 20's data
    open('truncated.pcap', 'wb').write(data[:recs[19][0] + 16 + 10])
    # record 5 (index 4) becomes a zero-length record: header kept, caplen 0, data removed
    o, cap = recs[4]
    z = bytearray(data[o:o + 16]); struct.pack_into('<I', z, 8, 0)
    open('zero_length.pcap', 'wb').write(data[:o] + bytes(z) + data[o + 16 + cap:])
    # record 10 (index 9) claims 0x7fffffff bytes; its data stays in place
    o, cap = recs[9]
    b = bytearray(data); struct.pack_into('<I', b, o + 8, 0x7fffffff)
    open('oversized.pcap', 'wb').write(bytes(b))
    # 37 bytes of 0xff inserted before record 13 (index 12)
    o, _ = recs[12]
    open('garbage.pcap', 'wb').write(data[:o] + b'\xff' * 37 + data[o:])
    # pcapng: the 5th block (3rd packet) gets block length 13
    ng = bytearray(open('two_interfaces.pcapng', 'rb').read())
    o, n = 0, 0
    while n < 4:
        o += struct.unpack_from('<I', ng, o + 4)[0]; n += 1
    struct.pack_into('<I', ng, o + 4, 13)
    open('bad_block.pcapng', 'wb').write(bytes(ng))
    print('bad block at', o)

vlan_frames()
damaged()
