package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"gated.dev/gated/daemon"
)

func serve(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	config := fs.String("config", "/etc/gated/gated.yaml", "configuration file")
	debug := fs.Bool("debug", false, "log debug messages")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	level := slog.LevelInfo
	if *debug {
		level = slog.LevelDebug
	}
	log := logger(level)
	cfg, err := daemon.LoadConfig(*config)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := serveDaemon(ctx, cfg, daemon.Options{Logger: log, ConfigFile: *config}, nil); err != nil {
		log.Error("gated stopped", "error", err)
		return 1
	}
	return 0
}

// serveDaemon runs a daemon and its HTTP server until ctx ends. ready, if
// set, is called with the listening address once the server accepts.
func serveDaemon(ctx context.Context, cfg daemon.Config, opts daemon.Options, ready func(addr string)) error {
	d, err := daemon.New(ctx, cfg, opts)
	if err != nil {
		return err
	}
	defer d.Close()
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return err
	}
	// Headers are bounded here, and keep-alive connections left idle. A
	// ReadTimeout or WriteTimeout would also end the long-lived live
	// updates (/api/events: net/http cancels a request whose read deadline
	// passes), so the handlers that read bodies or write much bound that
	// themselves (/git, /gerrit/events: http.ResponseController).
	srv := &http.Server{Handler: d.Handler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10}
	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(ln) }()
	if ready != nil {
		ready(ln.Addr().String())
	}
	go func() { errc <- d.Run(ctx) }()
	if opts.ConfigFile != "" {
		// SIGHUP reloads the configuration file.
		hup, stop := make(chan os.Signal, 1), make(chan struct{})
		signal.Notify(hup, syscall.SIGHUP)
		defer func() { signal.Stop(hup); close(stop) }()
		go func() {
			for {
				select {
				case <-stop:
					return
				case <-hup:
					d.Reload(ctx) // it logs a refusal and shows it on the status page
				}
			}
		}()
	}
	var first error
	select {
	case <-ctx.Done():
	case first = <-errc:
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.Shutdown(shutdown)
	if errors.Is(first, http.ErrServerClosed) {
		first = nil
	}
	return first
}

func validate(_ context.Context, args []string) int {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: gated validate FILE\n\nChecks a configuration file offline, as serve does before it starts: every\nproblem is printed with its line; the exit status is 1 if there is any.")
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	if _, err := daemon.LoadConfig(fs.Arg(0)); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Printf("%s: ok\n", fs.Arg(0))
	return 0
}
