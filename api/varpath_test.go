package api_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/dtle-io/dtle/api"
)

// A job id is outside input: in the path of the job's Nomad Variable it
// can neither climb to another variable (dtle/cluster-secret, another
// job's) nor make two jobs share one.
func TestJobVariablePathsEscapeTheJobID(t *testing.T) {
	token := regexp.MustCompile(`^[A-Za-z0-9_~-]+$`)
	seen := map[string]string{}
	for _, id := range []string{"job1", "../cluster-secret", "a/b", "a~2fb", "x.y", "*", "..", "a b", "中文", "j\x00"} {
		p := api.SpeedLimitPath("default", id)
		parts := strings.Split(p, "/")
		if len(parts) != 4 || parts[0] != "dtle" || parts[1] != "speed-limit" || parts[2] != "default" || !token.MatchString(parts[3]) {
			t.Errorf("job %q: path %q", id, p)
		}
		if other, ok := seen[p]; ok {
			t.Errorf("jobs %q and %q share %s", id, other, p)
		}
		seen[p] = id
	}
}
