package cli_test

import (
	"strings"
	"testing"
)

// TestFederationJoinBadInput: join refuses, with the reason, a member
// without a region, a server that is not a federation, and an unknown
// CA; status and unjoin refuse a cluster that is no federation or member.
func TestFederationJoinBadInput(t *testing.T) {
	e := newEnv(t)
	url := e.tc.Server.URL()
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"federation", "join", "--url", url, "--token", "x.y", "--cluster", "eu-1", "--labels", "zone=a"},
			"--region: required"},
		{[]string{"federation", "join", "--url", url, "--token", e.tc.AdminToken, "--cluster", "eu-1", "--labels", "region=eu"},
			"does not answer as a federation"},
		{[]string{"federation", "join", "--url", "https://127.0.0.1:1", "--token", "x.y", "--cluster", "eu-1", "--region", "eu"},
			"--ca-file: required"},
		{[]string{"federation", "join", "--url", url, "--cluster", "eu-1", "--region", "eu"},
			`"token" not set`},
		{[]string{"federation", "status"}, "is not a federation"},
		{[]string{"federation", "unjoin"}, "not a member of a federation"},
		{[]string{"federation", "migrate", "db", "--pet", "db-1", "--to", "eu-2"}, "want petset/NAME"},
		{[]string{"federation", "migrate", "deployment/web", "--pet", "web-1", "--to", "eu-2"}, "only a PetSet's pets migrate"},
		{[]string{"federation", "migrate", "petset/db", "--pet", "db-1"}, "--to: required"},
		{[]string{"federation", "migrate", "petset/db", "--to", "eu-2"}, "either --pet NAME-N or --all"},
		{[]string{"federation", "migrate", "petset/db", "--pet", "db-1", "--all", "--to", "eu-2"}, "either --pet NAME-N or --all"},
		{[]string{"federation", "migrate", "petset/db", "--pet", "db-1", "--to", "eu-2"}, "is not a federation"},
	}
	for _, c := range cases {
		if got := e.mustFail(c.args...); !strings.Contains(got, c.want) {
			t.Errorf("kennel %s:\n got %q\nwant %q", strings.Join(c.args, " "), got, c.want)
		}
	}
}
