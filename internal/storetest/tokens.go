package storetest

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/usage"
)

func runTokens(t *testing.T, open func(t *testing.T) Backend) {
	runStoreCases(t, open, []storeCase{
		{"ClassicRoundTrip", testTokenClassicRoundTrip},
		{"FineGrainedRoundTrip", testTokenFineGrainedRoundTrip},
		{"InstallationRoundTrip", testTokenInstallationRoundTrip},
		{"DuplicateHash", testTokenDuplicateHash},
		{"UnknownHash", testTokenUnknownHash},
		{"List", testTokenList},
		{"Revoke", testTokenRevoke},
	})
}

// newTokenFor returns a token of type typ with a fresh random hash.
func newTokenFor(typ usage.ActorType, userID int64) (*usage.Token, string) {
	s := usage.NewTokenString(typ)
	return &usage.Token{Type: typ, Hash: usage.HashToken(s), LastEight: s[len(s)-8:], UserID: userID, CreatedAt: testTime}, s
}

func createUser(t *testing.T, s usage.Store, login string) *usage.User {
	t.Helper()
	u := &usage.User{Login: login}
	must(t, "CreateUser", s.CreateUser(t.Context(), u))
	return u
}

// sameToken compares every stored field of two tokens.
func sameToken(t *testing.T, got, want *usage.Token) {
	t.Helper()
	if got.ID != want.ID || got.Type != want.Type || !bytes.Equal(got.Hash, want.Hash) ||
		got.LastEight != want.LastEight || got.UserID != want.UserID || got.OAuthAppID != want.OAuthAppID ||
		got.AppID != want.AppID || got.InstallationID != want.InstallationID || got.Note != want.Note ||
		got.ResourceOwner != want.ResourceOwner {
		t.Errorf("token = %+v,\nwant %+v", got, want)
	}
	if !slices.Equal(got.Scopes, want.Scopes) && (len(got.Scopes) != 0 || len(want.Scopes) != 0) {
		t.Errorf("Scopes = %q, want %q (order kept)", got.Scopes, want.Scopes)
	}
	if !sameMap(got.Permissions, want.Permissions) {
		t.Errorf("Permissions = %v, want %v", got.Permissions, want.Permissions)
	}
	sameTime(t, "CreatedAt", got.CreatedAt, want.CreatedAt)
	sameTime(t, "ExpiresAt", got.ExpiresAt, want.ExpiresAt)
	sameTime(t, "RevokedAt", got.RevokedAt, want.RevokedAt)
}

func testTokenClassicRoundTrip(t *testing.T, s usage.Store) {
	ctx := t.Context()
	u := createUser(t, s, "mona")
	tok, str := newTokenFor(usage.ActorClassicPAT, u.ID)
	tok.Note = "ci exporter"
	tok.Scopes = []string{"read:org", "manage_billing:enterprise", "admin:org"}
	must(t, "CreateToken", s.CreateToken(ctx, tok))
	if tok.ID == 0 {
		t.Fatal("CreateToken did not assign an ID")
	}
	got, err := s.TokenByHash(ctx, usage.HashToken(str))
	must(t, "TokenByHash", err)
	sameToken(t, got, tok)
	if !got.Usable(testTime) {
		t.Error("a token without expiry or revocation is not usable")
	}

	// OAuth app tokens carry scopes and the app.
	oa := &usage.OAuthApp{Name: "Dash", ClientID: "Ov23", OwnerLogin: "mona"}
	must(t, "CreateOAuthApp", s.CreateOAuthApp(ctx, oa))
	gho, ghoStr := newTokenFor(usage.ActorOAuthApp, u.ID)
	gho.OAuthAppID = oa.ID
	gho.Scopes = []string{"read:enterprise"}
	gho.ExpiresAt = testTime.Add(8 * time.Hour)
	must(t, "CreateToken gho", s.CreateToken(ctx, gho))
	got, err = s.TokenByHash(ctx, usage.HashToken(ghoStr))
	must(t, "TokenByHash gho", err)
	sameToken(t, got, gho)
	if got.Usable(testTime.Add(9 * time.Hour)) {
		t.Error("a token past its expiry is usable")
	}
}

func testTokenFineGrainedRoundTrip(t *testing.T, s usage.Store) {
	ctx := t.Context()
	u := createUser(t, s, "mona")
	tok, str := newTokenFor(usage.ActorFineGrainedPAT, u.ID)
	tok.ResourceOwner = "acme-web"
	tok.Permissions = map[string]string{"organization_api_insights": "read", "organization_administration": "write"}
	tok.ExpiresAt = testTime.Add(30 * 24 * time.Hour)
	must(t, "CreateToken", s.CreateToken(ctx, tok))
	got, err := s.TokenByHash(ctx, usage.HashToken(str))
	must(t, "TokenByHash", err)
	sameToken(t, got, tok)

	app := &usage.App{Slug: "ci-bot", Name: "CI", OwnerLogin: "acme-web", ClientID: "Iv1.x"}
	must(t, "CreateApp", s.CreateApp(ctx, app))
	ghu, ghuStr := newTokenFor(usage.ActorUserToServer, u.ID)
	ghu.AppID = app.ID
	ghu.Permissions = map[string]string{"organization_api_insights": "read"}
	must(t, "CreateToken ghu", s.CreateToken(ctx, ghu))
	got, err = s.TokenByHash(ctx, usage.HashToken(ghuStr))
	must(t, "TokenByHash ghu", err)
	sameToken(t, got, ghu)
}

func testTokenInstallationRoundTrip(t *testing.T, s usage.Store) {
	ctx := t.Context()
	app := &usage.App{Slug: "ci-bot", Name: "CI", OwnerLogin: "acme-web", ClientID: "Iv1.x"}
	must(t, "CreateApp", s.CreateApp(ctx, app))
	inst := &usage.Installation{AppID: app.ID, AccountLogin: "acme-web", AccountType: "Organization"}
	must(t, "CreateInstallation", s.CreateInstallation(ctx, inst))
	tok, str := newTokenFor(usage.ActorInstallation, 0)
	tok.AppID = app.ID
	tok.InstallationID = inst.ID
	tok.Permissions = map[string]string{"organization_api_insights": "read"}
	tok.ExpiresAt = testTime.Add(time.Hour)
	must(t, "CreateToken", s.CreateToken(ctx, tok))
	got, err := s.TokenByHash(ctx, usage.HashToken(str))
	must(t, "TokenByHash", err)
	sameToken(t, got, tok)
	if got.UserID != 0 {
		t.Errorf("installation token UserID = %d, want 0", got.UserID)
	}
}

func testTokenDuplicateHash(t *testing.T, s usage.Store) {
	ctx := t.Context()
	u := createUser(t, s, "mona")
	tok, _ := newTokenFor(usage.ActorClassicPAT, u.ID)
	must(t, "CreateToken", s.CreateToken(ctx, tok))
	dup := *tok
	dup.ID = 0
	wantKind(t, "CreateToken with a hash already stored", s.CreateToken(ctx, &dup), usage.KindConflict)
}

func testTokenUnknownHash(t *testing.T, s usage.Store) {
	ctx := t.Context()
	u := createUser(t, s, "mona")
	tok, str := newTokenFor(usage.ActorClassicPAT, u.ID)
	must(t, "CreateToken", s.CreateToken(ctx, tok))
	_, err := s.TokenByHash(ctx, usage.HashToken(str+"x"))
	wantKind(t, "TokenByHash of an unknown hash", err, usage.KindNotFound)
	_, err = s.TokenByHash(ctx, nil)
	wantKind(t, "TokenByHash(nil)", err, usage.KindNotFound)
	// A prefix of a stored hash is not that hash.
	_, err = s.TokenByHash(ctx, tok.Hash[:16])
	wantKind(t, "TokenByHash of a hash prefix", err, usage.KindNotFound)
}

func testTokenList(t *testing.T, s usage.Store) {
	ctx := t.Context()
	mona := createUser(t, s, "mona")
	hubot := createUser(t, s, "hubot")
	var all, monas []int64
	for i, owner := range []int64{mona.ID, hubot.ID, mona.ID, 0, mona.ID} {
		typ := usage.ActorClassicPAT
		if owner == 0 {
			typ = usage.ActorInstallation
		}
		tok, _ := newTokenFor(typ, owner)
		tok.Note = string(rune('a' + i))
		must(t, "CreateToken", s.CreateToken(ctx, tok))
		all = append(all, tok.ID)
		if owner == mona.ID {
			monas = append(monas, tok.ID)
		}
	}
	ids := func(ts []*usage.Token) []int64 {
		var out []int64
		for _, t := range ts {
			out = append(out, t.ID)
		}
		return out
	}
	got, err := s.ListTokens(ctx, mona.ID)
	must(t, "ListTokens(mona)", err)
	if !slices.Equal(ids(got), monas) {
		t.Errorf("ListTokens(mona) ids = %v, want %v in id order", ids(got), monas)
	}
	for _, tok := range got {
		if tok.UserID != mona.ID || len(tok.Hash) == 0 {
			t.Errorf("ListTokens(mona) returned %+v", tok)
		}
	}
	got, err = s.ListTokens(ctx, 0)
	must(t, "ListTokens(0)", err)
	if !slices.Equal(ids(got), all) {
		t.Errorf("ListTokens(0) ids = %v, want every token %v in id order", ids(got), all)
	}
	nobody := createUser(t, s, "nobody")
	got, err = s.ListTokens(ctx, nobody.ID)
	must(t, "ListTokens(nobody)", err)
	if len(got) != 0 {
		t.Errorf("ListTokens of a user without tokens = %v", ids(got))
	}
}

func testTokenRevoke(t *testing.T, s usage.Store) {
	ctx := t.Context()
	u := createUser(t, s, "mona")
	tok, str := newTokenFor(usage.ActorClassicPAT, u.ID)
	keep, keepStr := newTokenFor(usage.ActorClassicPAT, u.ID)
	must(t, "CreateToken", s.CreateToken(ctx, tok))
	must(t, "CreateToken", s.CreateToken(ctx, keep))

	at := testTime.Add(time.Hour)
	must(t, "RevokeToken", s.RevokeToken(ctx, tok.ID, at))
	got, err := s.TokenByHash(ctx, usage.HashToken(str))
	must(t, "TokenByHash after revoke", err)
	sameTime(t, "RevokedAt", got.RevokedAt, at)
	if got.Usable(at.Add(time.Minute)) {
		t.Error("a revoked token is usable")
	}
	must(t, "RevokeToken twice", s.RevokeToken(ctx, tok.ID, at.Add(time.Hour)))
	got, err = s.TokenByHash(ctx, usage.HashToken(str))
	must(t, "TokenByHash after second revoke", err)
	if got.RevokedAt.IsZero() {
		t.Error("revoking twice cleared RevokedAt")
	}
	// Revocation is per token.
	other, err := s.TokenByHash(ctx, usage.HashToken(keepStr))
	must(t, "TokenByHash other", err)
	if !other.RevokedAt.IsZero() {
		t.Errorf("revoking one token revoked another: %v", other.RevokedAt)
	}
	wantKind(t, "RevokeToken unknown id", s.RevokeToken(ctx, 987654321, at), usage.KindNotFound)
}
