// SPDX-License-Identifier: GPL-2.0
/* The ChannelData fast path (RFC 8656 §12), at TC ingress, for IPv4 and
 * IPv6 (each flow within one family: RFC 6156 translation stays in user
 * space).
 *
 * For a channel binding user space installed (flow_abi.h):
 *   - ChannelData from the client becomes a UDP datagram from the relayed
 *     address to the peer (the 4-byte header removed);
 *   - a datagram from the peer to the relayed address becomes ChannelData
 *     from the server address to the client (the header added).
 * Both leave by the flow's interface through bpf_redirect_neigh (the
 * kernel routes and resolves the next hop). Anything else returns
 * TC_ACT_OK untouched, so the stack and the user-space relay see it as
 * before: IPv4 options, IPv6 extension headers, fragments, GSO, IPv6
 * without a UDP checksum, padded or short ChannelData,
 * Send/Data indications, unknown flows, flows past their expiry (user
 * space drops and counts those), TTL <= 1, and packets whose UDP
 * checksum a local sender left for the device to finish (CHECKSUM_PARTIAL:
 * the field holds only a seed, which the resize would misplace). Every
 * read is bounds-checked; the verifier refuses the program otherwise. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <linux/udp.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "relay/fastpath/flow_abi.h"

#define ETH_LENGTH sizeof(struct ethhdr)
#define IP4_LENGTH sizeof(struct iphdr)
#define IP6_LENGTH sizeof(struct ipv6hdr)
#define IP_LENGTH(v6) ((v6) ? IP6_LENGTH : IP4_LENGTH)
#define UDP_OFFSET(v6) (ETH_LENGTH + IP_LENGTH(v6))
#define CHANNEL_HEADER 4
#define CHECKSUM_PARTIAL 3

/* The flows, one pair of maps per family. */
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __uint(max_entries, TP_MAX_FLOWS);
  __type(key, struct tp_client_key);
  __type(value, struct tp_rewrite);
} from_clients SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __uint(max_entries, TP_MAX_FLOWS);
  __type(key, struct tp_peer_key);
  __type(value, struct tp_rewrite);
} from_peers SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __uint(max_entries, TP_MAX_FLOWS);
  __type(key, struct tp_client_key6);
  __type(value, struct tp_rewrite);
} from_clients6 SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __uint(max_entries, TP_MAX_FLOWS);
  __type(key, struct tp_peer_key6);
  __type(value, struct tp_rewrite);
} from_peers6 SEC(".maps");

/* Memory grows with the flows installed, not with the limit: every server
 * loads the program by default (relay.fast_path: auto), most with few flows. */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __uint(max_entries, TP_MAX_FLOWS);
  __type(key, __u32);
  __type(value, struct tp_flow_counters);
} counters SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, TP_VERDICTS);
  __type(key, __u32);
  __type(value, __u64);
} verdicts SEC(".maps");

/* The kernel's own sk_buff, for ip_summed (a CO-RE read; kernel 6.3+). */
extern void *bpf_cast_to_kern_ctx(void *) __ksym;
struct sk_buff___tp {
  __u8 ip_summed : 2;
} __attribute__((preserve_access_index));

/* A packet's two addresses in the maps' four-word form (flow_abi.h). */
struct addresses {
  __u32 source[4];
  __u32 destination[4];
};

static __always_inline int count(__u32 verdict, int action) {
  __u64 *n = bpf_map_lookup_elem(&verdicts, &verdict);
  if (n) *n += 1;
  return action;
}

static __always_inline int checksum_partial(struct __sk_buff *skb) {
  struct sk_buff___tp *kernel_skb = bpf_cast_to_kern_ctx(skb);
  return BPF_CORE_READ_BITFIELD(kernel_skb, ip_summed) == CHECKSUM_PARTIAL;
}

/* One's complement arithmetic on 16-bit words as they sit in the packet
 * (RFC 1624): the sum does not care about byte order if every word is
 * taken the same way. */
static __always_inline __u32 add16(__u32 sum, __u16 word) { return sum + word; }
static __always_inline __u32 sub16(__u32 sum, __u16 word) { return sum + (__u16)~word; }
static __always_inline __u32 add32(__u32 sum, __u32 word) {
  return sum + (word >> 16) + (word & 0xffff);
}
static __always_inline __u32 sub32(__u32 sum, __u32 word) {
  return sum + (__u16)~(word >> 16) + (__u16)~(word & 0xffff);
}
static __always_inline __u16 fold(__u32 sum) {
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return (__u16)sum;
}

static __always_inline void ip_checksum(struct iphdr *ip) {
  __u16 *words = (__u16 *)ip;
  __u32 sum = 0;
  ip->check = 0;
#pragma unroll
  for (int i = 0; i < 10; i++) sum += words[i];
  ip->check = ~fold(sum);
}

/* Ethernet, IPv4 without options or fragments or IPv6 without extension
 * headers, UDP, and exactly the bytes the headers announce (no Ethernet
 * padding, no trailing data). `v6` is a constant: each family gets its own
 * copy of the code, with fixed offsets. */
static __always_inline struct udphdr *parse_udp(struct __sk_buff *skb, const int v6,
                                                struct addresses *a) {
  if (skb->data + UDP_OFFSET(v6) + sizeof(struct udphdr) + CHANNEL_HEADER > skb->data_end) {
    bpf_skb_pull_data(skb, UDP_OFFSET(v6) + sizeof(struct udphdr) + CHANNEL_HEADER);
  }
  void *data = (void *)(long)skb->data;
  void *end = (void *)(long)skb->data_end;
  struct ethhdr *eth = data;
  struct udphdr *udp = data + UDP_OFFSET(v6);
  if ((void *)(udp + 1) > end) return 0;
  if (v6) {
    struct ipv6hdr *ip6 = data + ETH_LENGTH;
    if (eth->h_proto != bpf_htons(ETH_P_IPV6)) return 0;
    if (ip6->version != 6 || ip6->nexthdr != IPPROTO_UDP) return 0;
    if (ETH_LENGTH + IP6_LENGTH + bpf_ntohs(ip6->payload_len) != skb->len) return 0;
    if (udp->len != ip6->payload_len) return 0;
    if (ip6->hop_limit <= 1) return 0;
    if (udp->check == 0) return 0; /* not allowed over IPv6: the stack drops it */
#pragma unroll
    for (int i = 0; i < 4; i++) {
      a->source[i] = ip6->saddr.in6_u.u6_addr32[i];
      a->destination[i] = ip6->daddr.in6_u.u6_addr32[i];
    }
  } else {
    struct iphdr *ip = data + ETH_LENGTH;
    if (eth->h_proto != bpf_htons(ETH_P_IP)) return 0;
    if (ip->version != 4 || ip->ihl != 5 || ip->protocol != IPPROTO_UDP) return 0;
    if (ip->frag_off & bpf_htons(0x3fff)) return 0; /* MF or an offset */
    if (ETH_LENGTH + bpf_ntohs(ip->tot_len) != skb->len) return 0;
    if (bpf_ntohs(udp->len) != bpf_ntohs(ip->tot_len) - IP4_LENGTH) return 0;
    if (ip->ttl <= 1) return 0;
    a->source[0] = a->source[1] = a->destination[0] = a->destination[1] = 0;
    a->source[2] = a->destination[2] = bpf_htonl(0xffff);
    a->source[3] = ip->saddr;
    a->destination[3] = ip->daddr;
  }
  return udp;
}

/* The UDP checksum after the address, port and length changes and the
 * ChannelData header words removed (`sign` < 0) or added (> 0). 0 stays 0:
 * an IPv4 sender sent none. For IPv4 only word 3 of each address changes
 * (the others are the mapped prefix on both sides). */
static __always_inline __u16 new_udp_checksum(const struct addresses *a, const struct udphdr *udp,
                                              const struct tp_rewrite *to, __u16 new_length,
                                              __u16 word0, __u16 word1, int sign, const int v6) {
  if (udp->check == 0) return 0;
  __u32 s = (__u16)~udp->check;
#pragma unroll
  for (int i = v6 ? 0 : 3; i < 4; i++) {
    s = sub32(s, a->source[i]);
    s = add32(s, to->source_ip[i]);
    s = sub32(s, a->destination[i]);
    s = add32(s, to->destination_ip[i]);
  }
  s = sub16(s, udp->len); /* in the pseudo-header */
  s = add16(s, new_length);
  s = sub16(s, udp->len); /* in the UDP header */
  s = add16(s, new_length);
  s = sub16(s, udp->source);
  s = add16(s, to->source_port);
  s = sub16(s, udp->dest);
  s = add16(s, to->destination_port);
  if (sign < 0) {
    s = sub16(s, word0);
    s = sub16(s, word1);
  } else {
    s = add16(s, word0);
    s = add16(s, word1);
  }
  __u16 checksum = ~fold(s);
  return checksum ? checksum : 0xffff;
}

/* After the resize: new headers in place, then out by the flow's interface. */
static __always_inline int rewrite(struct __sk_buff *skb, const struct tp_rewrite *to,
                                   __u16 udp_length, __u16 checksum, const int v6) {
  void *data = (void *)(long)skb->data;
  void *end = (void *)(long)skb->data_end;
  struct udphdr *udp = data + UDP_OFFSET(v6);
  if ((void *)(udp + 1) > end) return TC_ACT_SHOT;
  if (v6) {
    struct ipv6hdr *ip6 = data + ETH_LENGTH;
#pragma unroll
    for (int i = 0; i < 4; i++) {
      ip6->saddr.in6_u.u6_addr32[i] = to->source_ip[i];
      ip6->daddr.in6_u.u6_addr32[i] = to->destination_ip[i];
    }
    ip6->payload_len = bpf_htons(udp_length);
    ip6->hop_limit -= 1;
  } else {
    struct iphdr *ip = data + ETH_LENGTH;
    ip->saddr = to->source_ip[3];
    ip->daddr = to->destination_ip[3];
    ip->tot_len = bpf_htons(udp_length + IP4_LENGTH);
    ip->ttl -= 1;
    ip_checksum(ip);
  }
  udp->source = to->source_port;
  udp->dest = to->destination_port;
  udp->len = bpf_htons(udp_length);
  udp->check = checksum;
  return bpf_redirect_neigh(to->out_ifindex, 0, 0, 0);
}

static __always_inline void add_counts(__u32 slot, int to_peer, __u32 bytes) {
  struct tp_flow_counters *c = bpf_map_lookup_elem(&counters, &slot);
  if (!c) return;
  if (to_peer) {
    c->to_peer_packets += 1;
    c->to_peer_bytes += bytes;
  } else {
    c->to_client_packets += 1;
    c->to_client_bytes += bytes;
  }
}

static __always_inline int from_client(struct __sk_buff *skb, const struct addresses *a,
                                       struct udphdr *udp, const struct tp_rewrite *to,
                                       __u16 data_length, const int v6) {
  __u8 *header = (__u8 *)(udp + 1);
  if ((void *)(header + CHANNEL_HEADER) > (void *)(long)skb->data_end) return TC_ACT_OK;
  const __u16 word0 = *(__u16 *)header;
  const __u16 word1 = *(__u16 *)(header + 2);
  const __u16 udp_length = bpf_ntohs(udp->len) - CHANNEL_HEADER;
  const __u16 checksum =
      new_udp_checksum(a, udp, to, bpf_htons(udp_length), word0, word1, -1, v6);
  const struct tp_rewrite copy = *to;
  /* The 4 bytes go between IP and UDP: the new UDP header is then written
   * where the old one's tail and the ChannelData header were. */
  if (bpf_skb_adjust_room(skb, -CHANNEL_HEADER, BPF_ADJ_ROOM_NET, 0)) {
    return count(TP_RESIZE_FAILED, TC_ACT_SHOT);
  }
  add_counts(copy.slot, 1, data_length);
  count(TP_RELAYED_TO_PEER, 0);
  return rewrite(skb, &copy, udp_length, checksum, v6);
}

static __always_inline int from_peer(struct __sk_buff *skb, const struct addresses *a,
                                     struct udphdr *udp, const struct tp_rewrite *to,
                                     const int v6) {
  const __u16 data_length = bpf_ntohs(udp->len) - sizeof(struct udphdr);
  /* The larger datagram must still fit its length fields. */
  if (bpf_ntohs(udp->len) + (v6 ? 0 : IP4_LENGTH) > 0xffff - CHANNEL_HEADER) {
    return count(TP_NO_FLOW, TC_ACT_OK);
  }
  const __u16 word0 = bpf_htons(to->channel);
  const __u16 word1 = bpf_htons(data_length);
  const __u16 udp_length = bpf_ntohs(udp->len) + CHANNEL_HEADER;
  const __u16 checksum = new_udp_checksum(a, udp, to, bpf_htons(udp_length), word0, word1, 1, v6);
  const struct tp_rewrite copy = *to;
  if (bpf_skb_adjust_room(skb, CHANNEL_HEADER, BPF_ADJ_ROOM_NET, 0)) {
    return count(TP_RESIZE_FAILED, TC_ACT_SHOT);
  }
  void *data = (void *)(long)skb->data;
  __u16 *channel_header = data + UDP_OFFSET(v6) + sizeof(struct udphdr);
  if ((void *)(channel_header + 2) > (void *)(long)skb->data_end) return TC_ACT_SHOT;
  channel_header[0] = word0;
  channel_header[1] = word1;
  add_counts(copy.slot, 0, data_length);
  count(TP_RELAYED_TO_CLIENT, 0);
  return rewrite(skb, &copy, udp_length, checksum, v6);
}

static __always_inline const struct tp_rewrite *client_flow(const struct addresses *a,
                                                            const struct udphdr *udp,
                                                            __u16 channel, const int v6) {
  if (v6) {
    struct tp_client_key6 key = {
        .client_port = udp->source, .server_port = udp->dest, .channel = channel};
#pragma unroll
    for (int i = 0; i < 4; i++) {
      key.client_ip[i] = a->source[i];
      key.server_ip[i] = a->destination[i];
    }
    return bpf_map_lookup_elem(&from_clients6, &key);
  }
  struct tp_client_key key = {
      .client_ip = a->source[3],
      .server_ip = a->destination[3],
      .client_port = udp->source,
      .server_port = udp->dest,
      .channel = channel,
  };
  return bpf_map_lookup_elem(&from_clients, &key);
}

static __always_inline const struct tp_rewrite *peer_flow(const struct addresses *a,
                                                          const struct udphdr *udp, const int v6) {
  if (v6) {
    struct tp_peer_key6 key = {.relayed_port = udp->dest, .peer_port = udp->source};
#pragma unroll
    for (int i = 0; i < 4; i++) {
      key.relayed_ip[i] = a->destination[i];
      key.peer_ip[i] = a->source[i];
    }
    return bpf_map_lookup_elem(&from_peers6, &key);
  }
  struct tp_peer_key key = {
      .relayed_ip = a->destination[3],
      .peer_ip = a->source[3],
      .relayed_port = udp->dest,
      .peer_port = udp->source,
  };
  return bpf_map_lookup_elem(&from_peers, &key);
}

static __always_inline int relay(struct __sk_buff *skb, const int v6) {
  struct addresses a;
  struct udphdr *udp = parse_udp(skb, v6, &a);
  if (!udp) return count(TP_NOT_IP_UDP, TC_ACT_OK);
  const __u16 payload = bpf_ntohs(udp->len) - sizeof(struct udphdr);

  /* ChannelData of a flow? Exact length only: over UDP there is no padding. */
  __u8 *header = (__u8 *)(udp + 1);
  if ((void *)(header + CHANNEL_HEADER) <= (void *)(long)skb->data_end &&
      (header[0] & 0xc0) == 0x40) {
    const __u16 length = ((__u16)header[2] << 8) | header[3];
    if (length + CHANNEL_HEADER == payload) {
      const __u16 channel = ((__u16)header[0] << 8) | header[1];
      const struct tp_rewrite *to = client_flow(&a, udp, channel, v6);
      if (to) {
        if (bpf_ktime_get_ns() >= to->expires_ns) return count(TP_EXPIRED, TC_ACT_OK);
        if (checksum_partial(skb)) return count(TP_CHECKSUM_PARTIAL, TC_ACT_OK);
        return from_client(skb, &a, udp, to, length, v6);
      }
    }
  }
  /* A datagram from a flow's peer to its relayed address? */
  const struct tp_rewrite *to = peer_flow(&a, udp, v6);
  if (!to) return count(TP_NO_FLOW, TC_ACT_OK);
  if (bpf_ktime_get_ns() >= to->expires_ns) return count(TP_EXPIRED, TC_ACT_OK);
  if (checksum_partial(skb)) return count(TP_CHECKSUM_PARTIAL, TC_ACT_OK);
  return from_peer(skb, &a, udp, to, v6);
}

SEC("tc")
int tp_ingress(struct __sk_buff *skb) {
  if (skb->gso_size) return count(TP_NOT_IP_UDP, TC_ACT_OK);
  if (skb->protocol == bpf_htons(ETH_P_IP)) return relay(skb, 0);
  if (skb->protocol == bpf_htons(ETH_P_IPV6)) return relay(skb, 1);
  return count(TP_NOT_IP_UDP, TC_ACT_OK);
}

char LICENSE[] SEC("license") = "GPL";
