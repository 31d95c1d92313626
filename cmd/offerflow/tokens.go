package main

import (
	"context"
	"fmt"

	"github.com/offerflow/offerflow/command"
	"github.com/offerflow/offerflow/domain"
	ohttp "github.com/offerflow/offerflow/http"
)

// runTokens creates API tokens from the command line: the way to get the
// first tokens of a new installation besides the operator's API.
func runTokens(ctx context.Context, args []string, e env) error {
	if len(args) == 0 || args[0] != "create" {
		return usageError{"usage: offerflow tokens create --data DIR --role ROLE --tenant ID"}
	}
	fs := newFlagSet("tokens create", e)
	var sf storeFlags
	sf.register(fs)
	role := fs.String("role", "", "operator, reseller, customer or auditor")
	tenant := fs.String("tenant", "", "reseller id (reseller, auditor; * for an auditor of every reseller) or customer id (customer)")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	r, err := domain.ParseRole(*role)
	if err != nil {
		return usageError{"--role must be one of operator, reseller, customer, auditor"}
	}
	store, err := sf.openStore(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	svc := command.NewService(command.NewHandler(store, command.Config{}))
	token, hash := ohttp.NewToken()
	meta := command.Meta{Actor: domain.Actor{Role: domain.RoleOperator, Tenant: "", Subject: "cli"}}
	if _, err := svc.IssueToken(ctx, meta, svc.Handler().NewID(), hash, r, *tenant); err != nil {
		if domain.ErrorCode(err) == domain.EINTERNAL {
			return fmt.Errorf("create token: %w", err)
		}
		return usageError{fmt.Sprintf("create token: %s%s", domain.ErrorMessage(err), fieldSuffix(err))}
	}
	fmt.Fprintln(e.stdout, token)
	return nil
}

func fieldSuffix(err error) string {
	if f := domain.ErrorField(err); f != "" {
		return " (" + f + ")"
	}
	return ""
}
