// SPDX-License-Identifier: GPL-2.0
/* The load generator's peer, in the kernel (turnpike-loadgen --kernel-echo).
 *
 * At TC ingress of the generator's interface, a UDP datagram to the sink
 * address goes straight back where it came from: Ethernet, IPv4 and UDP
 * source and destination swapped, out of the same interface. Swapping
 * leaves both checksums valid (a one's complement sum does not depend on
 * the order of its words), so no byte but the addresses changes: the
 * client's SRTP check still covers every payload byte, both ways.
 *
 * Why: with the echo in user space, the generator's one core receives,
 * copies and sends every peer-bound packet again, and that core, not the
 * relay under test, sets the highest loss-free rate. Anything that is not
 * IPv4/UDP to the sink passes untouched. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

/* Set by the loader before the program loads: the sink, network order. */
const volatile __be32 sink_ip = 0;
const volatile __be16 sink_port = 0;

/* Datagrams sent back; read by the loader through the mapped .bss. */
__u64 echoed = 0;

SEC("tc")
int echo_peer(struct __sk_buff* skb) {
  void* data = (void*)(long)skb->data;
  void* end = (void*)(long)skb->data_end;
  struct ethhdr* eth = data;
  struct iphdr* ip = (void*)(eth + 1);
  struct udphdr* udp = (void*)(ip + 1);
  if ((void*)(udp + 1) > end) return TC_ACT_OK;
  if (eth->h_proto != bpf_htons(ETH_P_IP) || ip->ihl != 5 || ip->protocol != IPPROTO_UDP) {
    return TC_ACT_OK;
  }
  if (ip->daddr != sink_ip || udp->dest != sink_port) return TC_ACT_OK;

  unsigned char mac[ETH_ALEN];
  __builtin_memcpy(mac, eth->h_dest, ETH_ALEN);
  __builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
  __builtin_memcpy(eth->h_source, mac, ETH_ALEN);
  const __be32 addr = ip->saddr;
  ip->saddr = ip->daddr;
  ip->daddr = addr;
  const __be16 port = udp->source;
  udp->source = udp->dest;
  udp->dest = port;
  __sync_fetch_and_add(&echoed, 1);
  return bpf_redirect(skb->ifindex, 0);
}

char LICENSE[] SEC("license") = "GPL";
