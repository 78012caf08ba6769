// SPDX-License-Identifier: GPL-2.0
/* The ChannelData fast path (RFC 8656 §12), at TC ingress.
 *
 * For a channel binding user space installed (flow_abi.h):
 *   - ChannelData from the client becomes a UDP datagram from the relayed
 *     address to the peer (the 4-byte header removed);
 *   - a datagram from the peer to the relayed address becomes ChannelData
 *     from the server address to the client (the header added).
 * Both leave by the flow's interface through bpf_redirect_neigh (the
 * kernel routes and resolves the next hop). Anything else returns
 * TC_ACT_OK untouched, so the stack and the user-space relay see it as
 * before: IPv6, IP options, fragments, GSO, padded or short ChannelData,
 * Send/Data indications, unknown flows, flows past their expiry (user
 * space drops and counts those), TTL <= 1, and packets whose UDP
 * checksum a local sender left for the device to finish (CHECKSUM_PARTIAL:
 * the field holds only a seed, which the resize would misplace). Every
 * read is bounds-checked; the verifier refuses the program otherwise. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <linux/udp.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "relay/fastpath/flow_abi.h"

#define IP_OFFSET sizeof(struct ethhdr)
#define UDP_OFFSET (IP_OFFSET + sizeof(struct iphdr))
#define CHANNEL_HEADER 4
#define CHECKSUM_PARTIAL 3

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

/* Ethernet, IPv4 without options or fragments, UDP, and exactly the bytes
 * the headers announce (no Ethernet padding, no trailing data). */
static __always_inline struct udphdr *parse_udp(struct __sk_buff *skb, struct iphdr **out) {
  if (skb->data + UDP_OFFSET + sizeof(struct udphdr) + CHANNEL_HEADER > skb->data_end) {
    bpf_skb_pull_data(skb, UDP_OFFSET + sizeof(struct udphdr) + CHANNEL_HEADER);
  }
  void *data = (void *)(long)skb->data;
  void *end = (void *)(long)skb->data_end;
  struct ethhdr *eth = data;
  struct iphdr *ip = data + IP_OFFSET;
  struct udphdr *udp = data + UDP_OFFSET;
  if ((void *)(udp + 1) > end) return 0;
  if (eth->h_proto != bpf_htons(ETH_P_IP)) return 0;
  if (ip->version != 4 || ip->ihl != 5 || ip->protocol != IPPROTO_UDP) return 0;
  if (ip->frag_off & bpf_htons(0x3fff)) return 0; /* MF or an offset */
  if (sizeof(struct ethhdr) + bpf_ntohs(ip->tot_len) != skb->len) return 0;
  if (bpf_ntohs(udp->len) != bpf_ntohs(ip->tot_len) - sizeof(struct iphdr)) return 0;
  if (ip->ttl <= 1) return 0;
  *out = ip;
  return udp;
}

/* The UDP checksum after the address, port and length changes and the
 * ChannelData header words removed (`sign` < 0) or added (> 0). 0 stays 0:
 * the sender sent none. */
static __always_inline __u16 new_udp_checksum(const struct iphdr *ip, const struct udphdr *udp,
                                              const struct tp_rewrite *to, __u16 new_length,
                                              __u16 word0, __u16 word1, int sign) {
  if (udp->check == 0) return 0;
  __u32 s = (__u16)~udp->check;
  s = sub32(s, ip->saddr);
  s = add32(s, to->source_ip);
  s = sub32(s, ip->daddr);
  s = add32(s, to->destination_ip);
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
                                   __u16 total_length, __u16 udp_length, __u16 checksum) {
  void *data = (void *)(long)skb->data;
  void *end = (void *)(long)skb->data_end;
  struct iphdr *ip = data + IP_OFFSET;
  struct udphdr *udp = data + UDP_OFFSET;
  if ((void *)(udp + 1) > end) return TC_ACT_SHOT;
  ip->saddr = to->source_ip;
  ip->daddr = to->destination_ip;
  ip->tot_len = bpf_htons(total_length);
  ip->ttl -= 1;
  ip_checksum(ip);
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

static __always_inline int from_client(struct __sk_buff *skb, struct iphdr *ip, struct udphdr *udp,
                                       const struct tp_rewrite *to, __u16 data_length) {
  __u8 *header = (__u8 *)(udp + 1);
  if ((void *)(header + CHANNEL_HEADER) > (void *)(long)skb->data_end) return TC_ACT_OK;
  const __u16 word0 = *(__u16 *)header;
  const __u16 word1 = *(__u16 *)(header + 2);
  const __u16 udp_length = bpf_ntohs(udp->len) - CHANNEL_HEADER;
  const __u16 checksum =
      new_udp_checksum(ip, udp, to, bpf_htons(udp_length), word0, word1, -1);
  const __u16 total_length = bpf_ntohs(ip->tot_len) - CHANNEL_HEADER;
  const struct tp_rewrite copy = *to;
  /* The 4 bytes go between IP and UDP: the new UDP header is then written
   * where the old one's tail and the ChannelData header were. */
  if (bpf_skb_adjust_room(skb, -CHANNEL_HEADER, BPF_ADJ_ROOM_NET, 0)) {
    return count(TP_RESIZE_FAILED, TC_ACT_SHOT);
  }
  add_counts(copy.slot, 1, data_length);
  count(TP_RELAYED_TO_PEER, 0);
  return rewrite(skb, &copy, total_length, udp_length, checksum);
}

static __always_inline int from_peer(struct __sk_buff *skb, struct iphdr *ip, struct udphdr *udp,
                                     const struct tp_rewrite *to) {
  const __u16 data_length = bpf_ntohs(udp->len) - sizeof(struct udphdr);
  if (bpf_ntohs(ip->tot_len) > 0xffff - CHANNEL_HEADER) return count(TP_NO_FLOW, TC_ACT_OK);
  const __u16 word0 = bpf_htons(to->channel);
  const __u16 word1 = bpf_htons(data_length);
  const __u16 udp_length = bpf_ntohs(udp->len) + CHANNEL_HEADER;
  const __u16 checksum = new_udp_checksum(ip, udp, to, bpf_htons(udp_length), word0, word1, 1);
  const __u16 total_length = bpf_ntohs(ip->tot_len) + CHANNEL_HEADER;
  const struct tp_rewrite copy = *to;
  if (bpf_skb_adjust_room(skb, CHANNEL_HEADER, BPF_ADJ_ROOM_NET, 0)) {
    return count(TP_RESIZE_FAILED, TC_ACT_SHOT);
  }
  void *data = (void *)(long)skb->data;
  __u16 *channel_header = data + UDP_OFFSET + sizeof(struct udphdr);
  if ((void *)(channel_header + 2) > (void *)(long)skb->data_end) return TC_ACT_SHOT;
  channel_header[0] = word0;
  channel_header[1] = word1;
  add_counts(copy.slot, 0, data_length);
  count(TP_RELAYED_TO_CLIENT, 0);
  return rewrite(skb, &copy, total_length, udp_length, checksum);
}

SEC("tc")
int tp_ingress(struct __sk_buff *skb) {
  struct iphdr *ip;
  if (skb->gso_size) return count(TP_NOT_IPV4_UDP, TC_ACT_OK);
  struct udphdr *udp = parse_udp(skb, &ip);
  if (!udp) return count(TP_NOT_IPV4_UDP, TC_ACT_OK);
  const __u16 payload = bpf_ntohs(udp->len) - sizeof(struct udphdr);

  /* ChannelData of a flow? Exact length only: over UDP there is no padding. */
  __u8 *header = (__u8 *)(udp + 1);
  if ((void *)(header + CHANNEL_HEADER) <= (void *)(long)skb->data_end &&
      (header[0] & 0xc0) == 0x40) {
    const __u16 length = ((__u16)header[2] << 8) | header[3];
    if (length + CHANNEL_HEADER == payload) {
      struct tp_client_key key = {
          .client_ip = ip->saddr,
          .server_ip = ip->daddr,
          .client_port = udp->source,
          .server_port = udp->dest,
          .channel = ((__u16)header[0] << 8) | header[1],
      };
      const struct tp_rewrite *to = bpf_map_lookup_elem(&from_clients, &key);
      if (to) {
        if (bpf_ktime_get_ns() >= to->expires_ns) return count(TP_EXPIRED, TC_ACT_OK);
        if (checksum_partial(skb)) return count(TP_CHECKSUM_PARTIAL, TC_ACT_OK);
        return from_client(skb, ip, udp, to, length);
      }
    }
  }
  /* A datagram from a flow's peer to its relayed address? */
  struct tp_peer_key key = {
      .relayed_ip = ip->daddr,
      .peer_ip = ip->saddr,
      .relayed_port = udp->dest,
      .peer_port = udp->source,
  };
  const struct tp_rewrite *to = bpf_map_lookup_elem(&from_peers, &key);
  if (!to) return count(TP_NO_FLOW, TC_ACT_OK);
  if (bpf_ktime_get_ns() >= to->expires_ns) return count(TP_EXPIRED, TC_ACT_OK);
  if (checksum_partial(skb)) return count(TP_CHECKSUM_PARTIAL, TC_ACT_OK);
  return from_peer(skb, ip, udp, to);
}

char LICENSE[] SEC("license") = "GPL";
