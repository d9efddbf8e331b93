package httpapi_test

import (
	"encoding/base64"
	"net/http"
	"testing"

	"github.com/ghusage/ghusage/internal/testenv"
)

// Scheme names match without ASCII case, and only so: a Unicode fold such
// as the long s in "Baſic" is not the Basic scheme.
func TestAuthorizationSchemeCase(t *testing.T) {
	env := testenv.New(t)
	basic := base64.StdEncoding.EncodeToString([]byte("x-access-token:" + env.AdminToken))
	cases := []struct {
		header string
		status int
	}{
		{"bEaReR " + env.AdminToken, http.StatusOK},
		{"TOKEN " + env.AdminToken, http.StatusOK},
		{"BASIC " + basic, http.StatusOK},
		{"Ba\u017fic " + basic, http.StatusUnauthorized},
		{"Bearer\u212a " + env.AdminToken, http.StatusUnauthorized}, // Kelvin sign
	}
	for _, c := range cases {
		resp, body := env.Get(t, "/user", "", "Authorization", c.header)
		if resp.StatusCode != c.status {
			t.Errorf("Authorization %q: %d %s, want %d", c.header, resp.StatusCode, body, c.status)
		}
	}
}
