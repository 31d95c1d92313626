// Command offerflow runs the offer workflow engine and its maintenance tasks.
//
//	offerflow serve    [--addr HOST:PORT] [--data DIR] [--operator-token T] [--demo] [--allow-insecure-webhooks]
//	offerflow tokens create --data DIR --role ROLE --tenant ID
//	offerflow tokens revoke --data DIR (--token T | --token - | --token-hash H)
//	offerflow rebuild  --data DIR
//	offerflow verify   --data DIR [--head FILE]
//	offerflow head     --data DIR
//	offerflow key      --data DIR
//	offerflow history  --data DIR OFFER_ID [--json]
//	offerflow export   --data DIR [--out FILE]
//	offerflow poison   list --data DIR
//	offerflow poison   retry --data DIR [POSITION|EVENT_ID ...]
//	offerflow bench    [--data DIR] [--parts append,http,log,deliveries] [--rates R,...] [--events N] [--deliveries N]
//	offerflow crashtest [--kills N] [--clients N]
//
// Only this package reads flags and the environment; everything below it takes
// its configuration as arguments.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	restrictUmask()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}))
}

// env is the outside world a subcommand may touch, passed in so that tests
// can run the real program in-process.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
}

const usage = `offerflow: an event-sourced offer workflow engine

Usage:
  offerflow serve   [--addr HOST:PORT] [--data DIR] [--eventstore sqlite://PATH|esdb://...] [--operator-token T] [--demo] [--allow-insecure-webhooks]
  offerflow tokens create --data DIR --role ROLE --tenant ID
  offerflow tokens revoke --data DIR (--token T | --token - | --token-hash H)
  offerflow rebuild --data DIR
  offerflow verify  --data DIR [--head FILE]
  offerflow head    --data DIR
  offerflow key     --data DIR
  offerflow history --data DIR OFFER_ID [--json]
  offerflow export  --data DIR [--out FILE]
  offerflow poison  list --data DIR
  offerflow poison  retry --data DIR [POSITION|EVENT_ID ...]
  offerflow import  --data DIR [FILE|-]
  offerflow bench   [--data DIR] [--parts append,http,log,deliveries] [--rates R,...] [--events N] [--deliveries N]
  offerflow crashtest [--kills N] [--clients N] [--bin FILE] [--data DIR]
  offerflow probe   [--url http://127.0.0.1:8080/readyz]

Run "offerflow COMMAND -h" for the flags of a command.
`

// run dispatches to a subcommand and returns the process exit code.
func run(ctx context.Context, args []string, e env) int {
	if len(args) == 0 {
		fmt.Fprint(e.stderr, usage)
		return 2
	}
	var err error
	switch cmd, rest := args[0], args[1:]; cmd {
	case "serve":
		err = runServe(ctx, rest, e)
	case "tokens":
		err = runTokens(ctx, rest, e)
	case "rebuild":
		err = runRebuild(ctx, rest, e)
	case "verify":
		err = runVerify(ctx, rest, e)
	case "head":
		err = runHead(ctx, rest, e)
	case "key":
		err = runKey(ctx, rest, e)
	case "history":
		err = runHistory(ctx, rest, e)
	case "export":
		err = runExport(ctx, rest, e)
	case "import":
		err = runImport(ctx, rest, e)
	case "poison":
		err = runPoison(ctx, rest, e)
	case "bench":
		err = runBench(ctx, rest, e)
	case "crashtest":
		err = runCrashtest(ctx, rest, e)
	case "probe":
		err = runProbe(ctx, rest, e)
	case "help", "-h", "--help":
		fmt.Fprint(e.stdout, usage)
		return 0
	default:
		fmt.Fprintf(e.stderr, "offerflow: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, new(usageError)):
		fmt.Fprintf(e.stderr, "offerflow %s: %v\n", args[0], err)
		return 2
	default:
		fmt.Fprintf(e.stderr, "offerflow %s: %v\n", args[0], err)
		return 1
	}
}

// usageError is a mistake in the command line, answered with exit code 2.
type usageError struct{ msg string }

func (u usageError) Error() string { return u.msg }

// newFlagSet returns a flag set that reports errors instead of exiting.
func newFlagSet(name string, e env) *flag.FlagSet {
	fs := flag.NewFlagSet("offerflow "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	return fs
}

// parseFlags parses args, turning flag errors into usage errors.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err.Error()}
	}
	return nil
}
