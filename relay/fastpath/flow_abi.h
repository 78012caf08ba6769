/* What user space and the kernel program share: the keys, the flow and the
 * counters in the BPF maps. Plain C with fixed-width fields, included by
 * channel_data.bpf.c (clang -target bpf) and by fast_path.cc; addresses
 * and ports in network order, the channel number in host order. */
#ifndef TURNPIKE_RELAY_FASTPATH_FLOW_ABI_H
#define TURNPIKE_RELAY_FASTPATH_FLOW_ABI_H

#ifdef __cplusplus
#include <cstdint>
#define TP_U16 std::uint16_t
#define TP_U32 std::uint32_t
#define TP_U64 std::uint64_t
#else
#define TP_U16 __u16
#define TP_U32 __u32
#define TP_U64 __u64
#endif

// C names: the BPF side is C.  NOLINTBEGIN(readability-identifier-naming)

/* At most this many channel flows at once (each in both maps of its
 * family). */
#define TP_MAX_FLOWS 65536

/* Addresses in the IPv6 keys and in every rewrite are four network-order
 * words: an IPv6 address, or for IPv4 the mapped form ::ffff:a.b.c.d (the
 * IPv4 address in word 3). */

/* ChannelData from a client over IPv4: who sent it, to which server
 * address, on which channel. */
struct tp_client_key {
  TP_U32 client_ip;
  TP_U32 server_ip;
  TP_U16 client_port;
  TP_U16 server_port;
  TP_U16 channel;
  TP_U16 zero; /* always 0: keys are compared as bytes */
};

/* The same over IPv6. */
struct tp_client_key6 {
  TP_U32 client_ip[4];
  TP_U32 server_ip[4];
  TP_U16 client_port;
  TP_U16 server_port;
  TP_U16 channel;
  TP_U16 zero;
};

/* A datagram from a peer over IPv4: which relayed address it reached,
 * from whom. */
struct tp_peer_key {
  TP_U32 relayed_ip;
  TP_U32 peer_ip;
  TP_U16 relayed_port;
  TP_U16 peer_port;
};

/* The same over IPv6. */
struct tp_peer_key6 {
  TP_U32 relayed_ip[4];
  TP_U32 peer_ip[4];
  TP_U16 relayed_port;
  TP_U16 peer_port;
};

/* What the datagram becomes: its new addresses (of the family it came
 * in with: the kernel does not translate between IPv4 and IPv6), the
 * interface it leaves by (the kernel routes and resolves the neighbour
 * there), the channel number for ChannelData towards the client, the
 * flow's counter slot, and when the flow stops relaying in the kernel
 * (CLOCK_MONOTONIC nanoseconds: the earlier of the channel's and the
 * permission's expiry). */
struct tp_rewrite {
  TP_U32 source_ip[4];
  TP_U32 destination_ip[4];
  TP_U16 source_port;
  TP_U16 destination_port;
  TP_U16 channel;
  TP_U16 zero;
  TP_U32 out_ifindex;
  TP_U32 slot;
  TP_U64 expires_ns;
};

/* Per CPU and per flow; bytes are application data (no ChannelData header),
 * as the user-space relay counts them. */
struct tp_flow_counters {
  TP_U64 to_peer_packets;
  TP_U64 to_peer_bytes;
  TP_U64 to_client_packets;
  TP_U64 to_client_bytes;
};

/* Why a packet left the program the way it did (per CPU). */
enum tp_verdict {
  TP_RELAYED_TO_PEER = 0,
  TP_RELAYED_TO_CLIENT,
  TP_NOT_IP_UDP, /* or IPv4 options, IPv6 extension headers, fragments,
                    padding, TTL or hop limit <= 1, IPv6 without a UDP checksum */
  TP_NO_FLOW,    /* not ChannelData of a flow, nor from a flow's peer */
  TP_CHECKSUM_PARTIAL,
  TP_RESIZE_FAILED,
  TP_EXPIRED, /* a flow past its expiry: user space decides (and drops) */
  TP_VERDICTS
};

// NOLINTEND(readability-identifier-naming)

#undef TP_U16
#undef TP_U32
#undef TP_U64

#endif
