// An independent TURN client for Turnpike's interop tests, built on pion/turn
// (Debian's golang-github-pion-turn.v2-dev sources, offline). It binds, allocates,
// relays messages to a UDP echo peer it runs itself (the first by Send
// indication, the rest over the channel pion binds meanwhile), and deletes the
// allocation. Over UDP, TCP or TLS (-transport); with TLS the server's
// certificate is checked against -ca (trusted explicitly, never skipped).
// Exit 0 and "ok N" when every echo came back intact.
package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/pion/logging"
	"github.com/pion/turn/v2"
)

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "pion_client: "+format+"\n", args...)
	os.Exit(1)
}

func main() {
	server := flag.String("server", "127.0.0.1:3478", "TURN server host:port")
	user := flag.String("user", "", "username")
	password := flag.String("password", "", "password")
	realm := flag.String("realm", "", "realm")
	count := flag.Int("count", 20, "messages to relay")
	transport := flag.String("transport", "udp", "udp, tcp or tls")
	ca := flag.String("ca", "", "PEM certificate to trust for tls")
	flag.Parse()

	peer, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		fail("peer: %v", err)
	}
	defer peer.Close()
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := peer.ReadFrom(buf)
			if err != nil {
				return
			}
			if _, err := peer.WriteTo(buf[:n], from); err != nil {
				return
			}
		}
	}()

	var conn net.PacketConn
	switch *transport {
	case "udp":
		conn, err = net.ListenPacket("udp4", "127.0.0.1:0")
	case "tcp":
		var stream net.Conn
		stream, err = net.Dial("tcp", *server)
		if err == nil {
			conn = turn.NewSTUNConn(stream)
		}
	case "tls":
		pem, readErr := os.ReadFile(*ca)
		if readErr != nil {
			fail("ca: %v", readErr)
		}
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			fail("ca: no certificate in %s", *ca)
		}
		var stream *tls.Conn
		stream, err = tls.Dial("tcp", *server, &tls.Config{RootCAs: roots, NextProtos: []string{"stun.turn"}})
		if err == nil {
			conn = turn.NewSTUNConn(stream)
		}
	default:
		fail("unknown transport %s", *transport)
	}
	if err != nil {
		fail("socket: %v", err)
	}
	client, err := turn.NewClient(&turn.ClientConfig{
		STUNServerAddr: *server,
		TURNServerAddr: *server,
		Conn:           conn,
		Username:       *user,
		Password:       *password,
		Realm:          *realm,
		LoggerFactory:  logging.NewDefaultLoggerFactory(),
	})
	if err != nil {
		fail("client: %v", err)
	}
	defer client.Close()
	if err := client.Listen(); err != nil {
		fail("listen: %v", err)
	}
	mapped, err := client.SendBindingRequest()
	if err != nil {
		fail("binding: %v", err)
	}
	fmt.Println("mapped", mapped)
	relay, err := client.Allocate()
	if err != nil {
		fail("allocate: %v", err)
	}
	fmt.Println("relayed", relay.LocalAddr())

	buf := make([]byte, 1500)
	for i := 0; i < *count; i++ {
		msg := []byte(fmt.Sprintf("pion message %d", i))
		if _, err := relay.WriteTo(msg, peer.LocalAddr()); err != nil {
			fail("write %d: %v", i, err)
		}
		if err := relay.SetReadDeadline(time.Now().Add(3 * time.Second)); err != nil {
			fail("deadline: %v", err)
		}
		n, from, err := relay.ReadFrom(buf)
		if err != nil {
			fail("read %d: %v", i, err)
		}
		if !bytes.Equal(buf[:n], msg) || from.String() != peer.LocalAddr().String() {
			fail("message %d came back as %q from %v", i, buf[:n], from)
		}
		time.Sleep(50 * time.Millisecond) // leave time for the channel binding
	}
	// Close sends Refresh with LIFETIME 0, deleting the allocation.
	if err := relay.Close(); err != nil {
		fail("close: %v", err)
	}
	fmt.Println("ok", *count)
}
