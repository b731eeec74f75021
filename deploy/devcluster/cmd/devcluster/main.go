// Command devcluster builds and runs gated's development cluster (package
// devcluster). Use it through the script deploy/devcluster/devcluster:
//
//	devcluster build   build the binaries into the cache, or check they are there
//	devcluster up      start a cluster in the foreground; Ctrl-C stops it
//	devcluster cache   print the cache directory (what CI should cache)
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"gated.dev/gated/deploy/devcluster"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "devcluster: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: devcluster build | up [flags] | cache")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch args[0] {
	case "build":
		start := time.Now()
		bins, err := devcluster.Build(ctx, devcluster.BuildOptions{Log: os.Stderr})
		if err != nil {
			return err
		}
		fmt.Printf("devcluster: binaries ready in %s (%s)\n", bins.Dir, time.Since(start).Round(time.Second))
		return nil
	case "cache":
		dir, err := devcluster.DefaultCacheDir()
		if err != nil {
			return err
		}
		fmt.Println(dir)
		return nil
	case "up":
		return up(ctx, args[1:])
	}
	return fmt.Errorf("unknown command %q (want build, up or cache)", args[0])
}

func up(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("up", flag.ContinueOnError)
	var opts devcluster.Options
	fs.StringVar(&opts.Dir, "dir", "", "directory for data and logs (default: a temporary directory, removed at exit)")
	fs.IntVar(&opts.Ports.APIServer, "apiserver-port", 0, "kube-apiserver port (default: a free port)")
	fs.IntVar(&opts.Ports.Etcd, "etcd-port", 0, "etcd client port (default: a free port)")
	fs.IntVar(&opts.Ports.S3, "s3-port", 0, "MinIO S3 port (default: a free port)")
	ns := fs.String("namespace", "gated", "a namespace to prepare for builds")
	if err := fs.Parse(args); err != nil {
		return err
	}
	bins, err := devcluster.Build(ctx, devcluster.BuildOptions{Log: os.Stderr})
	if err != nil {
		return err
	}
	opts.Binaries, opts.Log = bins, os.Stderr
	c, err := devcluster.Start(ctx, opts)
	if err != nil {
		return err
	}
	defer func() {
		fmt.Fprintln(os.Stderr, "devcluster: stopping")
		if err := c.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "devcluster: %v\n", err)
		}
	}()
	if err := c.PrepareNamespace(ctx, *ns); err != nil {
		return fmt.Errorf("%w; the end of the cluster's logs:\n%s", err, c.Logs(40))
	}
	s3 := c.S3()
	fmt.Printf("export KUBECONFIG=%s\n", c.Kubeconfig())
	fmt.Printf("# namespace %q is ready for builds\n", *ns)
	fmt.Printf("# S3 (MinIO): http://%s access key %s secret key %s bucket %s\n", s3.Endpoint, s3.AccessKey, s3.SecretKey, s3.Bucket)
	fmt.Printf("# logs: %s; PIDs: %v\n# Ctrl-C stops the cluster\n", c.Dir(), c.PIDs())
	<-ctx.Done()
	return nil
}
