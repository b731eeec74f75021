package devcluster

import (
	"fmt"
	"net"
)

// Ports are the loopback ports the cluster listens on. A zero field means a
// free port chosen at start.
type Ports struct {
	Etcd, EtcdPeer, APIServer, S3, S3Console int
}

// fill replaces zero fields by free ports. A port is free when the kernel
// hands it out for an ephemeral listener; the window between closing that
// listener and the server binding it is small, and a server that loses
// the race fails to start with a clear error.
func (p *Ports) fill() error {
	for _, f := range []*int{&p.Etcd, &p.EtcdPeer, &p.APIServer, &p.S3, &p.S3Console} {
		if *f != 0 {
			continue
		}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return fmt.Errorf("pick a free port: %w", err)
		}
		*f = l.Addr().(*net.TCPAddr).Port
		// Keep it open until all are chosen, so no two fields get the same.
		defer l.Close()
	}
	return nil
}
