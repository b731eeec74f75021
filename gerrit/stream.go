package gerrit

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// StreamConfig says how to read `gerrit stream-events` over SSH.
type StreamConfig struct {
	// Addr is host:port of Gerrit's SSH daemon (Gerrit's port is 29418).
	Addr string
	// User is the account; it needs the Stream Events capability.
	User string
	// The private key: a file (OpenSSH or PEM format, unencrypted) or a
	// signer.
	KeyFile string
	Signer  ssh.Signer
	// Gerrit's host key: a known_hosts file or a callback. One is
	// required; the host key is never trusted blindly.
	KnownHostsFile  string
	HostKeyCallback ssh.HostKeyCallback
	// Types, if set, restricts the stream to these event types
	// (stream-events -s TYPE).
	Types []string
	// MinBackoff and MaxBackoff bound the wait before a reconnection: it
	// doubles from MinBackoff up to MaxBackoff, with jitter, and starts
	// over once a connection delivered events or lasted MaxBackoff.
	// Defaults: 1s and 1m.
	MinBackoff time.Duration
	MaxBackoff time.Duration
	// KeepAlive is the interval of SSH keepalives; a connection that does
	// not answer one within the interval is dropped. Default 30s.
	KeepAlive time.Duration
	// DialTimeout bounds connecting and the SSH handshake; default 30s.
	DialTimeout time.Duration
	// Reconnected, if set, is called after each reconnection (not after
	// the first connection): events sent while gated was disconnected are
	// lost (Gerrit replays nothing), so the caller should reconcile. It
	// must not block: the stream waits for it.
	Reconnected func()
	// Logger receives the reader's logs; default slog.Default().
	Logger *slog.Logger
}

// maxEventLine bounds one line of stream-events; a longer line is skipped.
const maxEventLine = 8 << 20

// StreamEvents reads `gerrit stream-events` and hands each event to sink,
// reconnecting with exponential backoff and jitter whenever the connection
// fails or ends, until ctx is done; it then returns ctx.Err(). A line that
// is not an event is logged and skipped. An event the sink refuses is
// logged and lost, like the events sent while disconnected: the periodic
// reconcile catches up. So does the dropped-output event, which Gerrit sends
// when it dropped events for a slow reader; it reaches the sink like any
// other.
func StreamEvents(ctx context.Context, cfg StreamConfig, sink Sink) error {
	sc, err := cfg.clientConfig()
	if err != nil {
		return err
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = time.Second
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = max(time.Minute, cfg.MinBackoff)
	}
	if cfg.KeepAlive <= 0 {
		cfg.KeepAlive = 30 * time.Second
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = 30 * time.Second
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	log = log.With("addr", cfg.Addr, "user", cfg.User)
	s := &streamer{cfg: cfg, ssh: sc, sink: sink, log: log}
	attempt := 0
	for connections := 0; ; {
		start := time.Now()
		connected, events, err := s.run(ctx, connections > 0)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if connected {
			connections++
		}
		if events > 0 || time.Since(start) >= cfg.MaxBackoff {
			attempt = 0
		}
		wait := backoff(cfg.MinBackoff, cfg.MaxBackoff, attempt)
		attempt++
		log.Warn("gerrit stream-events ended; reconnecting after a wait", "err", err, "events", events, "wait", wait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

func (cfg StreamConfig) clientConfig() (*ssh.ClientConfig, error) {
	if cfg.Addr == "" || cfg.User == "" {
		return nil, errors.New("stream-events: addr and user are required")
	}
	signer := cfg.Signer
	if signer == nil {
		if cfg.KeyFile == "" {
			return nil, errors.New("stream-events: no key (set a key file)")
		}
		pem, err := os.ReadFile(cfg.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("stream-events key: %w", err)
		}
		if signer, err = ssh.ParsePrivateKey(pem); err != nil {
			return nil, fmt.Errorf("stream-events key %s: %w", cfg.KeyFile, err)
		}
	}
	hostKey := cfg.HostKeyCallback
	if hostKey == nil {
		if cfg.KnownHostsFile == "" {
			return nil, errors.New("stream-events: no host key (set a known_hosts file)")
		}
		var err error
		if hostKey, err = knownhosts.New(cfg.KnownHostsFile); err != nil {
			return nil, fmt.Errorf("stream-events known hosts: %w", err)
		}
	}
	return &ssh.ClientConfig{
		User:            cfg.User,
		Auth:            []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: hostKey,
		Timeout:         cfg.DialTimeout,
	}, nil
}

// command is the remote command, with -s filters.
func (cfg StreamConfig) command() string {
	cmd := "gerrit stream-events"
	for _, t := range cfg.Types {
		cmd += " -s " + t
	}
	return cmd
}

type streamer struct {
	cfg  StreamConfig
	ssh  *ssh.ClientConfig
	sink Sink
	log  *slog.Logger
}

// run holds one connection until it ends or ctx is done. It reports
// whether the stream started and how many events it delivered.
func (s *streamer) run(ctx context.Context, reconnect bool) (connected bool, events int, err error) {
	d := net.Dialer{Timeout: s.cfg.DialTimeout}
	conn, err := d.DialContext(ctx, "tcp", s.cfg.Addr)
	if err != nil {
		return false, 0, fmt.Errorf("dial: %w", err)
	}
	// Closing the connection when ctx is done ends the handshake and the
	// read loop alike.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	_ = conn.SetDeadline(time.Now().Add(s.cfg.DialTimeout))
	c, chans, reqs, err := ssh.NewClientConn(conn, s.cfg.Addr, s.ssh)
	if err != nil {
		conn.Close()
		return false, 0, fmt.Errorf("ssh handshake: %w", err)
	}
	_ = conn.SetDeadline(time.Time{})
	client := ssh.NewClient(c, chans, reqs)
	defer client.Close()

	sess, err := client.NewSession()
	if err != nil {
		return false, 0, fmt.Errorf("ssh session: %w", err)
	}
	defer sess.Close()
	stdout, err := sess.StdoutPipe()
	if err != nil {
		return false, 0, fmt.Errorf("ssh session: %w", err)
	}
	var stderr bytes.Buffer
	sess.Stderr = &limitedWriter{w: &stderr, n: 4096}
	if err := sess.Start(s.cfg.command()); err != nil {
		return false, 0, fmt.Errorf("start %q: %w", s.cfg.command(), err)
	}
	s.log.Info("reading gerrit stream-events", "command", s.cfg.command())
	if reconnect && s.cfg.Reconnected != nil {
		s.cfg.Reconnected()
	}

	// Close the connection when a keepalive goes unanswered; that ends
	// the read loop below.
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.keepAlive(client, done)
	}()
	events, err = s.readLimited(ctx, stdout, maxEventLine)
	close(done)
	wg.Wait()
	if err == nil {
		err = s.exitStatus(client, sess, &stderr)
	}
	return true, events, err
}

// exitStatus waits a little for the exit status of a command whose output
// ended, and describes it with what the command wrote to stderr.
func (s *streamer) exitStatus(client *ssh.Client, sess *ssh.Session, stderr *bytes.Buffer) error {
	waited := make(chan error, 1)
	go func() { waited <- sess.Wait() }()
	var err error
	t := time.NewTimer(s.cfg.DialTimeout)
	defer t.Stop()
	select {
	case err = <-waited:
	case <-t.C:
		client.Close()
		<-waited
		return errors.New("stream ended without an exit status")
	}
	if err == nil {
		err = errors.New("stream ended")
	}
	if msg := strings.TrimSpace(stderr.String()); msg != "" {
		err = fmt.Errorf("%w: %s", err, msg)
	}
	return err
}

// keepAlive closes the client when the server stops answering keepalives,
// until done is closed.
func (s *streamer) keepAlive(client *ssh.Client, done <-chan struct{}) {
	tick := time.NewTicker(s.cfg.KeepAlive)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return
		case <-tick.C:
		}
		answered := make(chan struct{})
		go func() {
			// Any answer, even a refusal, shows the server is alive;
			// an error means the connection is gone.
			if _, _, err := client.SendRequest("keepalive@openssh.com", true, nil); err == nil {
				close(answered)
			}
		}()
		t := time.NewTimer(s.cfg.KeepAlive)
		select {
		case <-answered:
			t.Stop()
		case <-t.C:
			s.log.Warn("gerrit ssh keepalive unanswered; dropping the connection")
			client.Close()
			return
		case <-done:
			t.Stop()
			return
		}
	}
}

// readLimited hands each line of the stream to the sink until the stream
// ends, skipping lines longer than limit. It returns the number of
// non-empty lines read.
func (s *streamer) readLimited(ctx context.Context, r io.Reader, limit int) (int, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	events := 0
	for {
		line, err := readLine(br, limit)
		if errors.Is(err, errLineTooLong) {
			s.log.Warn("gerrit stream-events line too long; skipping it", "limit", limit)
			continue
		}
		if err != nil && !errors.Is(err, io.EOF) {
			// A line cut by a broken connection is no event.
			return events, fmt.Errorf("read: %w", err)
		}
		if len(bytes.TrimSpace(line)) > 0 {
			events++
			s.deliver(ctx, line)
		}
		if err != nil {
			return events, nil
		}
	}
}

func (s *streamer) deliver(ctx context.Context, line []byte) {
	ev, err := DecodeEvent(line)
	if err != nil {
		s.log.Warn("gerrit stream-events sent something that is not an event; skipping it", "err", err)
		return
	}
	if err := s.sink(ctx, ev); err != nil && ctx.Err() == nil {
		s.log.Error("event from stream-events not taken; it is lost until the next reconcile",
			"type", ev.Type, "change", ev.ChangeNumber(), "err", err)
	}
}

var errLineTooLong = errors.New("line too long")

// readLine reads one line (without its newline) of at most limit bytes; a
// longer line is consumed and reported as errLineTooLong.
func readLine(br *bufio.Reader, limit int) ([]byte, error) {
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if len(line)+len(chunk) > limit+1 {
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = br.ReadSlice('\n')
			}
			if err != nil && !errors.Is(err, io.EOF) {
				return nil, err
			}
			return nil, errLineTooLong
		}
		line = append(line, chunk...)
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		return bytes.TrimSuffix(line, []byte("\n")), err
	}
}

// limitedWriter keeps the first n bytes written to it.
type limitedWriter struct {
	w io.Writer
	n int
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if l.n > 0 {
		k := min(len(p), l.n)
		l.n -= k
		_, _ = l.w.Write(p[:k])
	}
	return len(p), nil
}

// backoff is the wait before retry number attempt (from 0): doubling from
// minWait, capped at maxWait, drawn in [d/2, d].
func backoff(minWait, maxWait time.Duration, attempt int) time.Duration {
	d := minWait
	for i := 0; i < attempt && d < maxWait; i++ {
		d *= 2
	}
	d = min(d, maxWait)
	return d/2 + rand.N(d/2+1)
}
