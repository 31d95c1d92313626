package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/offerflow/offerflow/command"
	"github.com/offerflow/offerflow/domain"
	ohttp "github.com/offerflow/offerflow/http"
)

const tokensUsage = "usage: offerflow tokens create --data DIR --role ROLE --tenant ID [--name NAME] [--ttl DURATION]\n" +
	"       offerflow tokens revoke --data DIR (--token T | --token - | --token-hash H)"

// cliOperator is the metadata of what the command line records: the
// operator, acting through the CLI.
func cliOperator() command.Meta {
	return command.Meta{Actor: domain.Actor{Role: domain.RoleOperator, Tenant: "", Subject: "cli"}}
}

// runTokens creates and revokes API tokens from the command line: the way to
// get the first tokens of a new installation besides the operator's API,
// and to retire a leaked one while the server is down or unreachable.
func runTokens(ctx context.Context, args []string, e env) error {
	if len(args) == 0 {
		return usageError{tokensUsage}
	}
	switch args[0] {
	case "create":
		return runTokensCreate(ctx, args[1:], e)
	case "revoke":
		return runTokensRevoke(ctx, args[1:], e)
	}
	return usageError{tokensUsage}
}

func runTokensCreate(ctx context.Context, args []string, e env) error {
	fs := newFlagSet("tokens create", e)
	var sf storeFlags
	sf.register(fs)
	role := fs.String("role", "", "operator, reseller, customer or auditor")
	tenant := fs.String("tenant", "", "reseller id (reseller, auditor; * for an auditor of every reseller) or customer id (customer)")
	name := fs.String("name", "", "the holder's display name, recorded as actor.name of what the token does (at most 200 characters)")
	ttl := fs.Duration("ttl", 0, "how long the token lives, e.g. 720h (default: until revoked)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *ttl < 0 || (*ttl > 0 && *ttl < time.Second) {
		return usageError{"--ttl must be at least 1s"}
	}
	r, err := domain.ParseRole(*role)
	if err != nil {
		return usageError{"--role must be one of operator, reseller, customer, auditor"}
	}
	store, err := sf.openSealed(ctx, false)
	if err != nil {
		return err
	}
	defer store.Close()
	svc := command.NewService(command.NewHandler(store, command.Config{}))
	token, hash := ohttp.NewToken()
	spec := domain.TokenSpec{ID: svc.Handler().NewID(), Hash: hash, Role: r, Tenant: *tenant, Name: *name, TTL: ttl.Truncate(time.Second)}
	if _, err := svc.IssueToken(ctx, cliOperator(), spec); err != nil {
		if domain.ErrorCode(err) == domain.EINTERNAL {
			return fmt.Errorf("create token: %w", err)
		}
		return usageError{fmt.Sprintf("create token: %s%s", domain.ErrorMessage(err), fieldSuffix(err))}
	}
	fmt.Fprintln(e.stdout, token)
	return nil
}

// runTokensRevoke revokes an issued token, named by the token itself (with
// "-", read from the first line of stdin, so that it stays out of the shell's
// history and the process list) or by its hex SHA-256. It prints the revoked
// token's id. A token that was never issued, or was already revoked, exits 1.
func runTokensRevoke(ctx context.Context, args []string, e env) error {
	fs := newFlagSet("tokens revoke", e)
	var sf storeFlags
	sf.register(fs)
	token := fs.String("token", "", `the token to revoke, or "-" to read it from stdin`)
	hash := fs.String("token-hash", "", "the hex SHA-256 of the token to revoke, as token.issued records it")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q\n%s", fs.Arg(0), tokensUsage)}
	}
	h, err := tokenHashOf(*token, *hash, e.stdin)
	if err != nil {
		return err
	}
	store, err := sf.openSealed(ctx, false)
	if err != nil {
		return err
	}
	defer store.Close()
	svc := command.NewService(command.NewHandler(store, command.Config{}))
	res, err := svc.RevokeToken(ctx, cliOperator(), h)
	switch {
	case errors.Is(err, domain.ErrTokenNotFound):
		return errors.New("revoke token: no token was issued under that hash (the operator token of serve is not an issued token: change it by restarting with another --operator-token)")
	case errors.Is(err, domain.ErrTokenRevoked):
		return errors.New("revoke token: the token is already revoked")
	case err != nil:
		return fmt.Errorf("revoke token: %w", err)
	}
	for _, ev := range res.Events {
		if r, ok := ev.(*domain.TokenRevoked); ok {
			fmt.Fprintf(e.stdout, "revoked token %s\n", r.TokenID)
		}
	}
	return nil
}

// maxTokenLine bounds what is read from stdin for --token -: far more than
// any token, far less than a mistaken file.
const maxTokenLine = 4096

// tokenHashOf returns the hash that --token or --token-hash names.
func tokenHashOf(token, hash string, stdin io.Reader) (string, error) {
	switch {
	case token != "" && hash != "":
		return "", usageError{"give --token or --token-hash, not both"}
	case token == "" && hash == "":
		return "", usageError{"--token or --token-hash is required\n" + tokensUsage}
	case hash != "":
		if len(hash) != 64 || strings.Trim(hash, "0123456789abcdef") != "" {
			return "", usageError{"--token-hash must be the 64 lower-case hex digits of the token's SHA-256"}
		}
		return hash, nil
	case token == "-":
		line, err := bufio.NewReader(io.LimitReader(stdin, maxTokenLine)).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("read the token from stdin: %w", err)
		}
		token = strings.TrimSpace(line)
		if token == "" {
			return "", usageError{"--token -: stdin held no token"}
		}
	}
	return ohttp.HashToken(token), nil
}

func fieldSuffix(err error) string {
	if f := domain.ErrorField(err); f != "" {
		return " (" + f + ")"
	}
	return ""
}
