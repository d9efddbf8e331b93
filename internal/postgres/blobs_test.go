package postgres_test

import (
	"bytes"
	"testing"

	"github.com/ghusage/ghusage/internal/blob/blobtest"
	"github.com/ghusage/ghusage/internal/postgres"
	"github.com/ghusage/ghusage/internal/postgres/pgtest"
)

func TestBlobConformance(t *testing.T) {
	db, err := postgres.Open(t.Context(), pgtest.DSN(t), postgres.Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	blobtest.Run(t, db.Blobs())
}

func TestSharedSecretIsOneAcrossReplicas(t *testing.T) {
	dsn := pgtest.DSN(t)
	var got [][]byte
	for range 2 {
		db, err := postgres.Open(t.Context(), dsn, postgres.Options{Migrate: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		v, err := db.SharedSecret(t.Context(), "links", 32)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, v)
	}
	if len(got[0]) != 32 || !bytes.Equal(got[0], got[1]) {
		t.Fatalf("replicas got different secrets: %x, %x", got[0], got[1])
	}
}
