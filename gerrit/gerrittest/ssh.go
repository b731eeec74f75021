package gerrittest

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"

	"golang.org/x/crypto/ssh"
)

// sshServer is Gerrit's SSH daemon, reduced to the commands gated uses:
// `gerrit stream-events [-s TYPE]...` and `gerrit version`.
type sshServer struct {
	s       *Server
	config  *ssh.ServerConfig
	hostKey ssh.Signer
	ln      net.Listener
	wg      sync.WaitGroup

	mu      sync.Mutex
	conns   map[*ssh.ServerConn]struct{}
	closed  bool
	streams map[*subscriber]struct{}
}

// streamBuffer is how many events a stream-events reader may fall behind
// before it loses them and gets dropped-output.
const streamBuffer = 4096

func newSSHServer(s *Server, addr string, signer ssh.Signer) (*sshServer, error) {
	if signer == nil {
		_, key, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		if signer, err = ssh.NewSignerFromKey(key); err != nil {
			return nil, err
		}
	}
	var err error
	ss := &sshServer{s: s, hostKey: signer, conns: map[*ssh.ServerConn]struct{}{}, streams: map[*subscriber]struct{}{}}
	ss.config = &ssh.ServerConfig{PublicKeyCallback: ss.authenticate}
	ss.config.AddHostKey(signer)
	if ss.ln, err = net.Listen("tcp", addr); err != nil {
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	ss.wg.Add(1)
	go ss.accept()
	return ss, nil
}

// HostKey is the SSH server's host key, for a client's known hosts.
func (s *Server) HostKey() ssh.PublicKey {
	if s.ssh == nil {
		return nil
	}
	return s.ssh.hostKey.PublicKey()
}

// AddSSHKey authorizes a public key for an account on the SSH port.
func (s *Server) AddSSHKey(username string, key ssh.PublicKey) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	acc := s.accounts.byName(username)
	if acc == nil {
		return errorf(404, "Account '%s' not found", username)
	}
	acc.SSHKeys = append(acc.SSHKeys, key)
	return nil
}

// DisconnectStreams closes every SSH connection, as a Gerrit restart or a
// network failure would; clients must reconnect.
func (s *Server) DisconnectStreams() {
	if s.ssh == nil {
		return
	}
	s.ssh.mu.Lock()
	defer s.ssh.mu.Unlock()
	for c := range s.ssh.conns {
		c.Close()
	}
}

// StreamReaders is the number of `gerrit stream-events` sessions running.
func (s *Server) StreamReaders() int {
	if s.ssh == nil {
		return 0
	}
	s.ssh.mu.Lock()
	defer s.ssh.mu.Unlock()
	return len(s.ssh.streams)
}

func (ss *sshServer) authenticate(meta ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
	ss.s.mu.Lock()
	defer ss.s.mu.Unlock()
	acc := ss.s.accounts.byName(meta.User())
	if acc != nil && slices.ContainsFunc(acc.SSHKeys, func(k ssh.PublicKey) bool { return bytes.Equal(k.Marshal(), key.Marshal()) }) {
		return &ssh.Permissions{Extensions: map[string]string{"user": acc.Username}}, nil
	}
	return nil, errors.New("public key not accepted")
}

func (ss *sshServer) accept() {
	defer ss.wg.Done()
	for {
		nc, err := ss.ln.Accept()
		if err != nil {
			return
		}
		ss.wg.Add(1)
		go func() {
			defer ss.wg.Done()
			ss.serveConn(nc)
		}()
	}
}

func (ss *sshServer) serveConn(nc net.Conn) {
	conn, chans, reqs, err := ssh.NewServerConn(nc, ss.config)
	if err != nil {
		nc.Close()
		return
	}
	ss.mu.Lock()
	if ss.closed {
		ss.mu.Unlock()
		conn.Close()
		return
	}
	ss.conns[conn] = struct{}{}
	ss.mu.Unlock()
	defer func() {
		ss.mu.Lock()
		delete(ss.conns, conn)
		ss.mu.Unlock()
		conn.Close()
	}()
	acc := ss.s.accounts.byName(conn.Permissions.Extensions["user"])
	var wg sync.WaitGroup
	defer wg.Wait()
	// Keepalives and other global requests get a refusal, which is an
	// answer: OpenSSH and gated take it as a sign of life.
	wg.Add(1)
	go func() {
		defer wg.Done()
		ssh.DiscardRequests(reqs)
	}()
	for nch := range chans {
		if nch.ChannelType() != "session" {
			nch.Reject(ssh.UnknownChannelType, "unknown channel type")
			continue
		}
		ch, chReqs, err := nch.Accept()
		if err != nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			ss.session(ch, chReqs, acc)
		}()
	}
}

// session runs the one command of a session channel.
func (ss *sshServer) session(ch ssh.Channel, reqs <-chan *ssh.Request, acc *Account) {
	var wg sync.WaitGroup
	defer wg.Wait()
	defer ch.Close()
	for req := range reqs {
		switch req.Type {
		case "exec":
			var payload struct{ Command string }
			if err := ssh.Unmarshal(req.Payload, &payload); err != nil {
				req.Reply(false, nil)
				continue
			}
			req.Reply(true, nil)
			// The client is gone when it closes the channel (or the
			// connection dies), not when it ends its input: ssh sends
			// EOF on stdin right away.
			gone := make(chan struct{})
			wg.Add(2)
			go func() {
				defer wg.Done()
				ssh.DiscardRequests(reqs)
				close(gone)
			}()
			go func() {
				defer wg.Done()
				io.Copy(io.Discard, ch)
			}()
			status := ss.exec(ch, acc, payload.Command, gone)
			ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{status}))
			return
		case "env", "pty-req":
			req.Reply(true, nil)
		case "shell":
			// Gerrit greets and closes.
			req.Reply(true, nil)
			io.WriteString(ch.Stderr(), "\n  ****    Welcome to the Gerrit simulator    ****\n\n  Interactive shells are disabled.\n")
			ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{127}))
			return
		default:
			req.Reply(false, nil)
		}
	}
}

// exec runs a command and returns its exit status.
func (ss *sshServer) exec(ch ssh.Channel, acc *Account, command string, gone <-chan struct{}) uint32 {
	args := strings.Fields(command)
	switch {
	case len(args) >= 2 && args[0] == "gerrit" && args[1] == "version":
		io.WriteString(ch, "gerrit version 3.10.0\n")
		return 0
	case len(args) >= 2 && args[0] == "gerrit" && args[1] == "stream-events":
		var types []string
		for i := 2; i < len(args); i++ {
			if (args[i] == "-s" || args[i] == "--subscribe") && i+1 < len(args) {
				types = append(types, args[i+1])
				i++
				continue
			}
			fmt.Fprintf(ch.Stderr(), "fatal: \"%s\" is not a valid option\n", args[i])
			return 1
		}
		if !acc.mayStreamEvents() {
			io.WriteString(ch.Stderr(), "fatal: stream-events not permitted\n")
			return 1
		}
		ss.streamEvents(ch, types, gone)
		return 0
	}
	fmt.Fprintf(ch.Stderr(), "fatal: \"%s\": not a Gerrit command\n", command)
	return 1
}

// streamEvents writes events as JSON lines until the client goes away or
// the server closes.
func (ss *sshServer) streamEvents(ch ssh.Channel, types []string, gone <-chan struct{}) {
	sub := ss.s.hub.subscribe(streamBuffer)
	ss.mu.Lock()
	ss.streams[sub] = struct{}{}
	ss.mu.Unlock()
	defer func() {
		ss.s.hub.unsubscribe(sub)
		ss.mu.Lock()
		delete(ss.streams, sub)
		ss.mu.Unlock()
	}()
	for {
		e, ok := sub.next(gone)
		if !ok {
			return
		}
		if len(types) > 0 && e.Type != "dropped-output" && !slices.Contains(types, e.Type) {
			continue
		}
		if _, err := ch.Write(append(e.JSON, '\n')); err != nil {
			return
		}
	}
}

func (ss *sshServer) close() {
	ss.mu.Lock()
	ss.closed = true
	for c := range ss.conns {
		c.Close()
	}
	ss.mu.Unlock()
	ss.ln.Close()
	ss.wg.Wait()
}
