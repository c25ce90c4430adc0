// masterminds-semver: what skopeo sync's images-by-semver selects, for
// __tests__/masterminds-semver.test.ts to compare the `loose` tag policy with.
// It makes the same three calls as skopeo's semverFilterCollection
// (cmd/skopeo/sync.go), on the Masterminds/semver version skopeo pins, and
// nothing else. Stdin: a constraint on the first line, then one tag a line.
// Stdout: the tags the constraint selects, in input order.
package main

import (
	"bufio"
	"fmt"
	"os"

	"github.com/Masterminds/semver/v3"
)

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	in.Scan()
	constraint, err := semver.NewConstraint(in.Text())
	if err != nil {
		fmt.Printf("error: %v\n", err)
		os.Exit(2)
	}
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	for in.Scan() {
		tag := in.Text()
		if v, err := semver.NewVersion(tag); err == nil && constraint.Check(v) {
			fmt.Fprintln(out, tag)
		}
	}
}
