#!/usr/bin/env python3
"""Writes a capture of the three hostile message classes the per-frame budget bounds
(limits::Limits), for measuring `rmqdump read --json` time and peak RSS on them:

  1. a SEND_BATCH_MESSAGE of N one-byte items (N past max_messages_per_frame),
  2. a PULL_MESSAGE response of 200 stored records, each a zlib body of 8 KB inflating
     to 8 MiB (1.6 GB together, past max_inflated_per_frame),
  3. a SEND_MESSAGE_V2 whose properties hold 200,000 entries (past max_properties).

Usage: scripts/hostile-capture.py N OUT.pcap   (raw-IP pcap, one TCP connection)
Then:  /usr/bin/time -v target/release/rmqdump read --json OUT.pcap > /dev/null
"""
import struct, json, sys, zlib
def item(body, props=b''):
    total=20+len(body)+2+len(props)
    return struct.pack('>iiiii',total,0,0,0,len(body))+body+struct.pack('>h',len(props))+props
def frame(code, opaque, ext, body, flag=0):
    h=json.dumps({"code":code,"language":"JAVA","version":401,"opaque":opaque,"flag":flag,"extFields":ext},separators=(',',':')).encode()
    return struct.pack('>iI',4+len(h)+len(body),len(h))+h+body
def stored(off, sysflag, body, props=b''):
    r=struct.pack('>iIiiiqqiq',0,0xDAA320A7,0,1,0,off,4096+off,sysflag,1700000000000)+bytes([10,0,0,5])+struct.pack('>iq',40000,1700000000001)+bytes([10,0,0,9])+struct.pack('>iiq',10911,0,0)+struct.pack('>i',len(body))+body+bytes([1])+b'T'+struct.pack('>h',len(props))+props
    return struct.pack('>i',len(r))+r[4:]
n=int(sys.argv[1])
batch=b''.join(item(b'%d'%i) for i in range(n))
f1=frame(320,1,{"a":"PG","b":"T","e":"0","m":"true"},batch)
z=zlib.compress(b'z'*(8<<20),9)
f2=frame(11,2,{"topic":"T","queueId":"1","consumerGroup":"G"},b'')
f3=frame(0,2,{},b''.join(stored(i,1,z) for i in range(200)),flag=1)
props=b''.join(b'k%d\x01v%d\x02'%(i,i) for i in range(200000))
f4=frame(310,3,{"a":"PG","b":"T","e":"0","f":"0","i":props.decode()},b'x')
out=open(sys.argv[2],'wb')
out.write(struct.pack('<IHHiIII',0xa1b2c3d4,2,4,0,0,65535,101))
seq={0:1000,1:5000}
def seg(data, c2s, ts):
    src,dst,sp,dp=((b'\x0a\x00\x00\x05',b'\x0a\x00\x00\x09',40000,10911) if c2s else (b'\x0a\x00\x00\x09',b'\x0a\x00\x00\x05',10911,40000))
    i=0 if c2s else 1
    for k in range(0,len(data),1400):
        chunk=data[k:k+1400]
        tcp=struct.pack('>HHIIBBHHH',sp,dp,seq[i],seq[1-i],5<<4,0x18,65535,0,0)
        ip=struct.pack('>BBHHHBBH4s4s',0x45,0,20+20+len(chunk),0,0x4000,64,6,0,src,dst)
        pkt=ip+tcp+chunk
        out.write(struct.pack('<IIII',ts,0,len(pkt),len(pkt))+pkt)
        seq[i]+=len(chunk)
seg(f1,True,1); seg(f2,True,2); seg(f3,False,3); seg(f4,True,4)
