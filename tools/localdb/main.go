// Command localdb runs FerretDB 1.24 on SQLite as a local MongoDB-wire server for Palaver's
// dev mode and tests (see shared/DATABASE.md: no MongoDB binary can be installed here, and the
// FerretDB module's own cmd/ferretdb cannot be built from the module zip).
//
// It prints one line "READY <mongodb-uri>" on stdout once it listens, so the caller can use
// port 0 and learn the real port, and it stops on SIGINT/SIGTERM, or when stdin closes with
// -exit-on-stdin-eof, so a crashed parent never leaves it running.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "TCP address to listen on; port 0 picks a free port")
	dir := flag.String("dir", "", "directory that holds the SQLite files (created if missing)")
	logLevel := flag.String("log-level", "error", "FerretDB log level: debug, info, warn or error")
	exitOnStdinEOF := flag.Bool("exit-on-stdin-eof", false, "stop when standard input closes (the parent went away)")
	flag.Parse()

	if *dir == "" {
		fmt.Fprintln(os.Stderr, "localdb: -dir is required")
		os.Exit(2)
	}
	if err := os.MkdirAll(*dir, 0o700); err != nil {
		fmt.Fprintf(os.Stderr, "localdb: cannot create %s: %v\n", *dir, err)
		os.Exit(1)
	}

	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(os.Stderr, "localdb: bad -log-level: %v\n", err)
		os.Exit(2)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	db, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: *listen},
		Handler:   "sqlite",
		SQLiteURL: "file:" + *dir + "/",
		Logger:    logger,
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "localdb: %v\n", err)
		os.Exit(1)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if *exitOnStdinEOF {
		go func() {
			_, _ = io.Copy(io.Discard, os.Stdin)
			stop()
		}()
	}

	// FerretDB's lookups by _id miss its own _id index (see idindex.go): add one they use.
	go keepIDLookupIndexes(ctx, *dir, logger)

	fmt.Printf("READY %s\n", db.MongoDBURI())

	if err := db.Run(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "localdb: %v\n", err)
		os.Exit(1)
	}
}
